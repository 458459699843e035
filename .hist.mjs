import { Connection, Client } from '@temporalio/client';
import proto from '@temporalio/proto'; const { temporal } = proto;
const client = new Client({ connection: await Connection.connect({ address: '127.0.0.1:37233' }) });
const names = temporal.api.enums.v1.EventType;
let n = 0;
for await (const w of client.workflow.list({ query: 'WorkflowType="reservationWorkflow"' })) {
  if (n++ >= Number(process.env.K ?? 4)) break;
  const h = await client.workflow.getHandle(w.workflowId).fetchHistory();
  const t0 = Number(h.events[0].eventTime.seconds) * 1000 + h.events[0].eventTime.nanos / 1e6;
  console.log(w.workflowId, h.events.slice(0, 12).map((e) => `${names[e.eventType].replace('EVENT_TYPE_', '').replace('WORKFLOW_', 'WF_')}@${(Number(e.eventTime.seconds) * 1000 + e.eventTime.nanos / 1e6 - t0).toFixed(1)}`).join(' '));
}
process.exit(0);

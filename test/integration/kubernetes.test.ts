/**
 * The Kubernetes manifests (deploy/kubernetes/), checked offline, without a cluster: every overlay
 * is rendered by kustomize (pinned, `go install`ed once into .tools/kustomize) and every object is
 * validated against the Kubernetes API's schemas by kubernetes-validate (pinned in
 * test/kubernetes/requirements.txt, installed once into .tools/kubernetes-validate). KEDA's
 * ScaledObject has no schema there: its structure is checked here by hand. Then the manifests must
 * agree with the product: the image and its Dockerfile, each container's environment accepted by
 * the configuration schema, probes on routes the code serves, selectors and autoscaler targets
 * naming real Deployments, and no secret value anywhere.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStamp, installPythonTool, isExecutable } from '../../dev/python.js';
import { parseConfig, requireServices } from '../../platform/config.js';
import { NOTIFIER_TASK_QUEUE, TASK_QUEUE } from '../../shared/queues.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const deployDir = path.join(root, 'deploy', 'kubernetes');
const KUSTOMIZE_VERSION = 'v5.7.1';
const KUBERNETES_VERSION = '1.33.0';
const OVERLAYS = ['base', ...readdirSync(path.join(deployDir, 'overlays')).map((o) => `overlays/${o}`)];
const pkg = JSON.parse(read('package.json')) as { version: string };

const TEST_SECRETS: Record<string, string> = {
  DATABASE_URL: 'postgres://tshop:k8s-test@postgres.example.internal:5432/tshop',
  ASSIGNMENT_DATABASE_URL: 'postgres://tshop_assignment:k8s-test@postgres.example.internal:5432/tshop',
  OWNER_DATABASE_URL: 'postgres://tshop_owner:k8s-test@postgres.example.internal:5432/tshop',
  JWT_SECRET: 'k8s-test-secret-k8s-test-secret-k8s-0123',
  ASSIGNMENT_TOKEN: 'k8s-assignment-token-k8s-assignment-0123',
  PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  KAKAO_API_KEY: 'k8s-test-kakao-api-key',
  KAKAO_SENDER_KEY: 'k8s-test-kakao-sender-key',
  TEMPORAL_API_KEY: 'k8s-test-temporal-cloud-api-key',
};
const SECRET_KEYS = Object.keys(TEST_SECRETS);

/** kustomize, `go install`ed at a pinned version into .tools/kustomize/bin (about 50 s on 2 cores, once). */
function installKustomize(): string | undefined {
  const bin = path.join(root, '.tools', 'kustomize', KUSTOMIZE_VERSION, 'kustomize');
  if (isExecutable(bin)) return bin;
  const go = spawnSync('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], {
    env: { ...process.env, GOBIN: path.dirname(bin), GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (go.status !== 0) throw new Error(`go install kustomize failed: ${go.stderr}`);
  return isExecutable(bin) ? bin : undefined;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

let kustomize: string | undefined;
let validator: string | undefined;
const rendered = new Map<string, { text: string; objects: K8sObject[] }>();
const scratch = mkdtempSync(path.join(tmpdir(), 'tshop-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(() => {
  kustomize = installKustomize();
  const requirements = path.join(root, 'test', 'kubernetes', 'requirements.txt');
  validator = installPythonTool(path.join(root, '.tools', 'kubernetes-validate'), 'kubernetes-validate', ['-r', requirements], fileStamp(requirements));
  if (!kustomize) return;
  for (const overlay of OVERLAYS) {
    const run = spawnSync(kustomize, ['build', path.join(deployDir, overlay)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`kustomize build ${overlay} failed: ${run.stderr}`);
    const objects = parseAllDocuments(run.stdout).map((d) => d.toJS() as K8sObject).filter(Boolean);
    rendered.set(overlay, { text: run.stdout, objects });
  }
}, 600_000);

const of = (overlay: string, kind: string) => rendered.get(overlay)!.objects.filter((o) => o.kind === kind);
const byName = (overlay: string, kind: string, name: string) => of(overlay, kind).find((o) => o.metadata.name === name);
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The environment a container sees: its ConfigMaps, its own values, Secret keys filled with test values. */
function containerEnv(overlay: string, container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const cm = byName(overlay, 'ConfigMap', from.configMapRef.name);
    expect(cm, `ConfigMap ${from.configMapRef.name}`).toBeDefined();
    Object.assign(env, cm!.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) {
      expect(e.valueFrom.secretKeyRef.name).toBe('tshop-secrets');
      env[e.name] = TEST_SECRETS[e.valueFrom.secretKeyRef.key]!;
    } else if (e.valueFrom?.fieldRef) env[e.name] = 'tshop-pod-0';
  }
  return env;
}

/** The final stage of the Dockerfile: its ENV, EXPOSE and CMD. */
function dockerfileRuntime() {
  const lines = read('Dockerfile').replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const last = lines.length - 1 - [...lines].reverse().findIndex((l) => /^FROM\s/i.test(l));
  const stage = lines.slice(last + 1);
  const env: Record<string, string> = {};
  for (const l of stage.filter((x) => /^ENV\s/.test(x))) for (const m of l.matchAll(/([A-Za-z_]\w*)=(\S*)/g)) env[m[1]!] = m[2]!;
  const expose = stage.filter((x) => /^EXPOSE\s/.test(x)).flatMap((x) => x.split(/\s+/).slice(1).map(Number));
  const user = stage.filter((x) => /^USER\s/.test(x)).at(-1)?.split(/\s+/)[1];
  return { env, expose, user };
}

/** Each container's entry point, as the image runs it: compiled by `npm run build:dist` from cmd/<name>.ts. */
const ROLE_ENTRY: Record<string, string> = { api: 'dist/cmd/api.mjs', worker: 'dist/cmd/worker.mjs', assignment: 'dist/cmd/assignment.mjs', migrate: 'dist/cmd/migrate.mjs' };
const buildDist = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['build:dist']!.split(/\s+/);
const DEPLOYMENTS = ['tshop-api', 'tshop-worker', 'tshop-assignment', 'tshop-notifier'];

describe('deploy/kubernetes', () => {
  it('installs kustomize and kubernetes-validate, and renders every overlay', () => {
    expect(kustomize, `kustomize ${KUSTOMIZE_VERSION} could not be installed with go install into .tools/kustomize`).toBeDefined();
    expect(validator, 'kubernetes-validate could not be installed from PyPI into .tools/kubernetes-validate').toBeDefined();
    expect(OVERLAYS).toContain('overlays/production');
    for (const overlay of OVERLAYS) expect(rendered.get(overlay)!.objects.length, overlay).toBeGreaterThan(10);
  });

  it.each(OVERLAYS)('%s: every object passes the Kubernetes API schemas (strict)', (overlay) => {
    const file = path.join(scratch, `${overlay.replace(/\W/g, '_')}.yaml`);
    writeFileSync(file, rendered.get(overlay)!.text);
    const run = spawnSync(validator!, ['--strict', '--quiet', '-k', KUBERNETES_VERSION, file], { encoding: 'utf8' });
    const out = `${run.stdout}${run.stderr}`;
    expect(out).not.toMatch(/ERROR/);
    expect(run.status, out).toBe(0);
    // The only objects without a core schema are KEDA's, checked by hand below.
    for (const line of out.split('\n').filter((l) => /Couldn't find schema/.test(l))) expect(line).toMatch(/kind (ScaledObject|TriggerAuthentication) with api version keda\.sh\/v1alpha1/);
  });

  it.each(OVERLAYS)('%s: a Deployment for every process, on our images, with the right commands and ports', (overlay) => {
    const { expose, user } = dockerfileRuntime();
    expect(user).toBe('node');
    const deployments = of(overlay, 'Deployment').map((d) => d.metadata.name).sort();
    expect(deployments).toEqual(expect.arrayContaining(DEPLOYMENTS));
    for (const d of of(overlay, 'Deployment')) {
      const pod = d.spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const entry = c.command.find((a: string) => a.endsWith('.mjs'));
        if (c.name === 'notifier') {
          expect(c.image).toMatch(new RegExp(`(^|/)tshop-notifier:${pkg.version.replace(/\./g, '\\.')}$`));
          expect(c.command).toEqual(['python', '-m', 'notifier']);
          expect(c.ports ?? []).toEqual([]);
          continue;
        }
        expect(c.image, `${d.metadata.name}/${c.name}`).toMatch(new RegExp(`(^|/)tshop-reserve:${pkg.version.replace(/\./g, '\\.')}$`));
        expect(c.command.slice(0, 2), 'compiled JavaScript, no TypeScript loader').toEqual(['node', '--enable-source-maps']);
        expect(entry).toBe(ROLE_ENTRY[c.name]);
        expect(buildDist, `npm run build:dist compiles ${entry}`).toContain(`cmd/${c.name}.ts`);
        expect(c.command, 'no demo data in a deployment').not.toContain('--seed');
      }
      expect(pod.terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThan(15 + 5);
    }
    const ports = (name: string) => byName(overlay, 'Deployment', name)!.spec.template.spec.containers[0].ports.map((p: any) => p.containerPort);
    expect(ports('tshop-api')).toEqual([8088, 9465]);
    expect(ports('tshop-assignment')).toEqual([8089, 9466]);
    expect(ports('tshop-worker')).toEqual([9464]);
    expect(expose).toEqual(expect.arrayContaining([8088, 8089]));
    const job = byName(overlay, 'Job', 'tshop-migrate')!;
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', '--enable-source-maps', 'dist/cmd/migrate.mjs']);
  });

  it.each(OVERLAYS)('%s: each container\'s environment passes the configuration schema', (overlay) => {
    const image = dockerfileRuntime().env;
    for (const d of [...of(overlay, 'Deployment'), ...of(overlay, 'Job')]) {
      const pod = d.spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const env = containerEnv(overlay, c);
        // One database role per use (deploy/postgres/roles.sql): the owner migrates, the assignment
        // service has its own and nothing else, every other role the main one.
        const [variable, key] = c.name === 'migrate' ? ['OWNER_DATABASE_URL', 'OWNER_DATABASE_URL'] : c.name === 'assignment' ? ['ASSIGNMENT_DATABASE_URL', 'ASSIGNMENT_DATABASE_URL'] : ['DATABASE_URL', 'DATABASE_URL'];
        expect(env[variable], `${d.metadata.name}/${c.name}: ${variable} from the Secret`).toBe(TEST_SECRETS[key]);
        for (const other of ['DATABASE_URL', 'ASSIGNMENT_DATABASE_URL', 'OWNER_DATABASE_URL'].filter((v) => v !== variable)) {
          expect(env[other], `${d.metadata.name}/${c.name}: no ${other}`).toBeUndefined();
        }
        if (c.name === 'notifier') {
          expect(env.NOTIFIER_TASK_QUEUE).toBe(NOTIFIER_TASK_QUEUE);
          expect(env.TEMPORAL_ADDRESS).toMatch(/:7233$/);
          continue;
        }
        const config = parseConfig({ ...image, ...env });
        if (c.name === 'api') {
          expect(() => requireServices(config)).not.toThrow();
          expect(config.http).toEqual({ host: '0.0.0.0', port: 8088 });
          expect(config.jwtSecret).toBeDefined();
          expect(config.web.devLogin).toBe(false);
          expect(config.apiMetrics).toEqual({ host: '0.0.0.0', port: 9465 });
          expect(config.web.workerMetricsUrls[0]).toMatch(/^http:\/\/tshop-worker-metrics:9464\/metrics$/);
        }
        if (c.name === 'worker') {
          expect(() => requireServices(config)).not.toThrow();
          expect(config.temporal.taskQueue).toBe(TASK_QUEUE);
          expect(config.workerMetrics).toEqual({ host: '0.0.0.0', port: 9464 });
          expect(config.temporal.workflowBundlePath).toBe('/app/dist/workflow-bundle.js');
          expect(config.assignment.token).toBe(TEST_SECRETS.ASSIGNMENT_TOKEN);
          expect(config.assignment.url).toBe('http://tshop-assignment:8089');
          expect(config.temporal.workerIdentity).toBe('tshop-pod-0');
        }
        if (c.name === 'api') {
          expect(config.assignment).toMatchObject({ url: 'http://tshop-assignment:8089', token: TEST_SECRETS.ASSIGNMENT_TOKEN });
        }
        if (c.name === 'assignment') {
          expect(config.assignment).toMatchObject({ host: '0.0.0.0', port: 8089, token: TEST_SECRETS.ASSIGNMENT_TOKEN, databaseUrl: TEST_SECRETS.ASSIGNMENT_DATABASE_URL });
          expect(config.assignment.metrics).toEqual({ host: '0.0.0.0', port: 9466 });
        }
        if (c.name === 'migrate') expect(config.ownerDatabaseUrl).toBe(TEST_SECRETS.OWNER_DATABASE_URL);
      }
    }
    // The ConfigMap holds no secret key: those come from the Secret only.
    for (const cm of of(overlay, 'ConfigMap')) for (const key of SECRET_KEYS) expect(Object.keys(cm.data ?? {}), cm.metadata.name).not.toContain(key);
  });

  it.each(OVERLAYS)('%s: hardened pods, probes on routes the code serves', (overlay) => {
    const healthRoutes = read('api/routes/health.ts');
    const assignmentApp = read('app/assignment/api.ts');
    const workerMetrics = read('workers/metrics.ts');
    const served: Record<string, (p: string) => boolean> = {
      'tshop-api': (p) => healthRoutes.includes(`path: '${p}'`),
      'tshop-assignment': (p) => assignmentApp.includes(`app.get('${p}'`) && p === '/healthz',
      'tshop-worker': (p) => p === '/metrics' && workerMetrics.includes(`pathname !== '/metrics'`),
    };
    for (const d of of(overlay, 'Deployment')) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext, `${d.metadata.name}/${c.name}`).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(c.resources.limits).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        // Read-only root, and nothing to write anywhere (compiled code, prebuilt bundles, bytecode in the image).
        expect(c.volumeMounts ?? [], `${d.metadata.name}/${c.name}`).toEqual([]);
      }
      const main = pod.containers[0];
      const portNumbers = Object.fromEntries((main.ports ?? []).map((p: any) => [p.name, p.containerPort]));
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const probe = main[kind];
        if (!probe) continue;
        const target = probe.httpGet ?? probe.tcpSocket;
        expect(portNumbers[target.port] ?? target.port, `${d.metadata.name} ${kind} port`).toBeDefined();
        if (probe.httpGet) expect(served[d.metadata.name]!(probe.httpGet.path), `${d.metadata.name} ${kind} ${probe.httpGet.path}`).toBe(true);
      }
      if (d.metadata.name !== 'tshop-notifier') expect(main.livenessProbe && main.readinessProbe, d.metadata.name).toBeTruthy();
    }
    const api = byName(overlay, 'Deployment', 'tshop-api')!.spec.template.spec.containers[0];
    expect(api.livenessProbe.httpGet.path).toBe('/healthz');
    expect(api.readinessProbe.httpGet.path).toBe('/readyz');
    expect(byName(overlay, 'Deployment', 'tshop-assignment')!.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/healthz');
    expect(byName(overlay, 'Deployment', 'tshop-worker')!.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it.each(OVERLAYS)('%s: selectors, Services, PDBs and autoscalers name real Deployments', (overlay) => {
    const deployments = of(overlay, 'Deployment');
    const podLabels = deployments.map((d) => d.spec.template.metadata.labels);
    for (const d of deployments) expect(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), d.metadata.name).toBe(true);
    for (const s of of(overlay, 'Service')) {
      const target = deployments.find((d) => matches(s.spec.selector, d.spec.template.metadata.labels));
      expect(target, `Service ${s.metadata.name}`).toBeDefined();
      const named = target!.spec.template.spec.containers.flatMap((c: any) => c.ports ?? []);
      for (const p of s.spec.ports) expect(named.some((n: any) => n.name === p.targetPort || n.containerPort === p.targetPort), `${s.metadata.name}:${p.port}`).toBe(true);
    }
    for (const pdb of of(overlay, 'PodDisruptionBudget')) expect(podLabels.some((l) => matches(pdb.spec.selector.matchLabels, l)), pdb.metadata.name).toBe(true);
    expect(of(overlay, 'PodDisruptionBudget').map((p) => p.metadata.name).sort()).toEqual([...DEPLOYMENTS].sort());
    const jobLabels = of(overlay, 'Job').map((j) => j.spec.template.metadata.labels);
    for (const np of of(overlay, 'NetworkPolicy')) {
      const sel = np.spec.podSelector.matchLabels;
      if (sel) expect([...podLabels, ...jobLabels].some((l) => matches(sel, l)), `NetworkPolicy ${np.metadata.name}`).toBe(true);
      for (const rule of [...(np.spec.ingress ?? []), ...(np.spec.egress ?? [])])
        for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])])
          if (peer.podSelector) expect(podLabels.some((l) => matches(peer.podSelector.matchLabels, l)), `${np.metadata.name} peer`).toBe(true);
    }
    const names = new Set(deployments.map((d) => d.metadata.name));
    for (const hpa of of(overlay, 'HorizontalPodAutoscaler')) {
      expect(hpa.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
      expect(names.has(hpa.spec.scaleTargetRef.name)).toBe(true);
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    }
    const ingress = byName(overlay, 'Ingress', 'tshop-api')!;
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'tshop-api', port: { name: 'http' } });
  });

  it.each(OVERLAYS)("%s: the API's metrics port is reached by the monitoring namespace only, and no Service or Ingress exposes it", (overlay) => {
    const policy = byName(overlay, 'NetworkPolicy', 'api')!;
    const rules = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 9465));
    expect(rules).toEqual([{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 9465 }] }]);
    for (const svc of of(overlay, 'Service').filter((x) => x.metadata.name === 'tshop-api')) {
      expect(svc.spec.ports.map((p: any) => p.targetPort)).toEqual(['http']);
    }
    for (const ing of of(overlay, 'Ingress')) {
      for (const rule of ing.spec.rules) for (const path of rule.http.paths) expect(path.backend.service.port).toEqual({ name: 'http' });
    }
  });

  it.each(OVERLAYS)('%s: the worker and the API reach the assignment service; its metrics only the monitoring namespace', (overlay) => {
    const component = (c: string) => ({ 'app.kubernetes.io/name': 'tshop-reserve', 'app.kubernetes.io/component': c });
    const policy = byName(overlay, 'NetworkPolicy', 'assignment')!;
    const callers = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 8089)).flatMap((r: any) => r.from.map((f: any) => f.podSelector?.matchLabels));
    expect(callers).toEqual([component('worker'), component('api')]);
    const scrapers = policy.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 9466));
    expect(scrapers).toEqual([{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 9466 }] }]);
    for (const from of ['api', 'worker']) {
      const egress = byName(overlay, 'NetworkPolicy', from)!.spec.egress;
      expect(egress.some((r: any) => r.to?.some((t: any) => matches(t.podSelector?.matchLabels ?? {}, component('assignment'))) && r.ports.some((p: any) => p.port === 8089)), from).toBe(true);
    }
    expect(of(overlay, 'Service').filter((x) => x.metadata.name === 'tshop-assignment').flatMap((x) => x.spec.ports.map((p: any) => p.targetPort))).toEqual(['http']);
  });

  it.each(OVERLAYS)('%s: the KEDA ScaledObjects (no schema offline: checked by hand)', (overlay) => {
    const scaled = of(overlay, 'ScaledObject');
    expect(scaled.map((s) => s.metadata.name).sort()).toEqual(['tshop-notifier', 'tshop-worker']);
    const config = byName(overlay, 'ConfigMap', of(overlay, 'ConfigMap')[0]!.metadata.name)!.data!;
    const queueOf: Record<string, string> = { 'tshop-worker': TASK_QUEUE, 'tshop-notifier': NOTIFIER_TASK_QUEUE };
    for (const s of scaled) {
      expect(s.apiVersion).toBe('keda.sh/v1alpha1');
      expect(Object.keys(s.spec).every((k) => ['scaleTargetRef', 'minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod', 'advanced', 'triggers', 'fallback', 'idleReplicaCount'].includes(k))).toBe(true);
      expect(s.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: s.metadata.name });
      const target = byName(overlay, 'Deployment', s.spec.scaleTargetRef.name);
      expect(target, `${s.metadata.name} targets an existing Deployment`).toBeDefined();
      expect(target!.spec.replicas, 'KEDA owns the replica count').toBeUndefined();
      expect(s.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(s.spec.minReplicaCount).toBeLessThanOrEqual(s.spec.maxReplicaCount);
      expect(Number.isInteger(s.spec.cooldownPeriod) && Number.isInteger(s.spec.pollingInterval)).toBe(true);
      expect(s.spec.triggers).toHaveLength(1);
      const [trigger] = s.spec.triggers;
      expect(trigger.type).toBe('temporal');
      const meta = trigger.metadata;
      // KEDA's trigger metadata are strings.
      for (const v of Object.values(meta)) expect(typeof v).toBe('string');
      expect(meta.endpoint).toBe(config.TEMPORAL_ADDRESS);
      expect(meta.namespace).toBe(config.TEMPORAL_NAMESPACE);
      expect(meta.taskQueue).toBe(queueOf[s.metadata.name]);
      expect(Number(meta.targetQueueSize)).toBeGreaterThan(0);
      for (const q of (meta.queueTypes ?? 'workflow').split(',')) expect(['workflow', 'activity', 'nexus']).toContain(q);
    }
    expect(byName(overlay, 'ScaledObject', 'tshop-worker')!.spec.triggers[0].metadata.queueTypes).toBe('workflow,activity');
  });

  it('overlays/temporal-cloud: the API, worker and notifier take the API key, and KEDA reads the backlog with it', () => {
    const overlay = 'overlays/temporal-cloud';
    const config = of(overlay, 'ConfigMap')[0]!.data!;
    expect(config.TEMPORAL_ADDRESS).toMatch(/\.tmprl\.cloud:7233$/);
    for (const name of ['tshop-api', 'tshop-worker']) {
      const c = byName(overlay, 'Deployment', name)!.spec.template.spec.containers[0];
      const access = parseConfig({ ...dockerfileRuntime().env, ...containerEnv(overlay, c) }).temporal.access;
      expect(access, name).toMatchObject({ apiKey: TEST_SECRETS.TEMPORAL_API_KEY, tls: true });
    }
    const notifier = byName(overlay, 'Deployment', 'tshop-notifier')!.spec.template.spec.containers[0];
    expect(containerEnv(overlay, notifier).TEMPORAL_API_KEY).toBe(TEST_SECRETS.TEMPORAL_API_KEY);
    const auth = byName(overlay, 'TriggerAuthentication', 'tshop-temporal');
    expect(auth?.spec.secretTargetRef).toEqual([{ parameter: 'apiKey', name: 'tshop-secrets', key: 'TEMPORAL_API_KEY' }]);
    for (const s of of(overlay, 'ScaledObject')) expect(s.spec.triggers[0].authenticationRef, s.metadata.name).toEqual({ name: 'tshop-temporal' });
  });

  it("overlays/identity-provider: the API accepts the provider's tokens made for it only, and only the API may reach the provider", () => {
    const overlay = 'overlays/identity-provider';
    const api = byName(overlay, 'Deployment', 'tshop-api')!.spec.template.spec.containers[0];
    const provider = parseConfig({ ...dockerfileRuntime().env, ...containerEnv(overlay, api) }).identityProvider;
    expect(provider).toMatchObject({ url: expect.stringMatching(/^https:\/\//), issuer: expect.any(String), audience: expect.any(String) });
    // 443 out: the notifier (Kakao) everywhere, the API (the JWKS) only where a provider is configured.
    const outTo443 = (o: string) =>
      of(o, 'NetworkPolicy')
        .filter((np) => (np.spec.egress ?? []).some((r: any) => (r.ports ?? []).some((p: any) => p.port === 443)))
        .map((np) => np.spec.podSelector.matchLabels?.['app.kubernetes.io/component'])
        .sort();
    expect(outTo443(overlay)).toEqual(['api', 'notifier']);
    for (const other of OVERLAYS.filter((o) => o !== overlay)) {
      expect(outTo443(other), other).toEqual(['notifier']);
      const otherApi = byName(other, 'Deployment', 'tshop-api')!.spec.template.spec.containers[0];
      expect(parseConfig({ ...dockerfileRuntime().env, ...containerEnv(other, otherApi) }).identityProvider, other).toBeUndefined();
    }
  });

  it.each(OVERLAYS)('%s: no secret value in any manifest; the Secret is referenced, not shipped', (overlay) => {
    const { text, objects } = rendered.get(overlay)!;
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(text).not.toMatch(/postgres(ql)?:\/\/[^\s:@/]+:[^\s@/]+@/);
    for (const o of objects) for (const c of podContainers(o)) for (const e of c.env ?? []) {
      if (SECRET_KEYS.includes(e.name)) expect(e.valueFrom?.secretKeyRef, `${o.metadata.name}/${c.name} ${e.name}`).toMatchObject({ name: 'tshop-secrets', key: e.name });
    }
  });

  it.each(OVERLAYS)('%s: `kubectl apply -l tshop-reserve/stage=pre-rollout` applies all the migration Job needs', (overlay) => {
    const first = rendered.get(overlay)!.objects.filter((o) => o.metadata.labels?.['tshop-reserve/stage'] === 'pre-rollout');
    const job = first.find((o) => o.kind === 'Job' && o.metadata.name === 'tshop-migrate');
    expect(job).toBeDefined();
    const pod = job!.spec.template.spec;
    for (const from of pod.containers[0].envFrom) expect(first.some((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef.name)).toBe(true);
    const policies = first.filter((o) => o.kind === 'NetworkPolicy');
    // The Job's egress to PostgreSQL and DNS arrives with it.
    expect(policies.some((p) => matches(p.spec.podSelector.matchLabels ?? {}, job!.spec.template.metadata.labels) && p.spec.egress?.some((r: any) => r.ports?.some((x: any) => x.port === 5432)))).toBe(true);
    expect(policies.some((p) => p.spec.egress?.some((r: any) => r.ports?.some((x: any) => x.port === 53)))).toBe(true);
    expect(first.some((o) => o.kind === 'Namespace')).toBe(true);
  });

  it('secrets.example.env names exactly the Secret keys, with placeholders only', () => {
    const lines = read('deploy/kubernetes/secrets.example.env').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    const entries = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(Object.keys(entries).sort()).toEqual([...SECRET_KEYS].sort());
    for (const v of Object.values(entries)) if (v) expect(v).toMatch(/CHANGE-ME/);
    expect(read('deploy/kubernetes/.gitignore')).toMatch(/^secrets\.env$/m);
  });
});

function podContainers(o: K8sObject): any[] {
  const pod = o.spec?.template?.spec;
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

/** Validates real responses against the served OpenAPI 3.1 document (JSON Schema 2020-12 via Ajv). */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>> };

const pointer = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

export function responseValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
  const seen = new Set<string>();
  return {
    /** Throws unless `body` matches what the document promises for this operation and status. */
    validate(method: string, template: string, status: number, contentType: string, body: unknown) {
      const op = doc.paths[template]?.[method.toLowerCase()];
      if (!op) throw new Error(`${method} ${template} is not documented`);
      const response = op.responses[String(status)];
      if (!response) throw new Error(`${method} ${template} answered ${status}, which is not documented`);
      const type = contentType.split(';')[0]!.trim();
      if (!response.content?.[type]) throw new Error(`${method} ${template} ${status}: content type ${type} is not documented`);
      const ref = `openapi.json#/paths/${pointer(template)}/${method.toLowerCase()}/responses/${status}/content/${pointer(type)}/schema`;
      const check = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
      if (!check(body)) throw new Error(`${method} ${template} ${status}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
      seen.add(`${method.toUpperCase()} ${template}`);
    },
    /** Documented operations no test response has been checked against. */
    unexercised(): string[] {
      return Object.entries(doc.paths).flatMap(([template, ops]) =>
        Object.keys(ops)
          .map((m) => `${m.toUpperCase()} ${template}`)
          .filter((k) => !seen.has(k)),
      );
    },
  };
}

/** Registers the project's custom search attributes on a namespace that lacks them. */
import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { SearchAttributes } from '../app/reservation/contract.js';

/** `Name=Type` pairs as the Temporal CLI's `--search-attribute` flag takes them. */
export function searchAttributeFlags(): string[] {
  const cliType = { KEYWORD: 'Keyword', INT: 'Int', TEXT: 'Text', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' } as const;
  return Object.values(SearchAttributes).map((k) => `${k.name}=${cliType[k.type]}`);
}

export async function ensureSearchAttributes(
  connection: Pick<NativeConnection | Connection, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.values(SearchAttributes).filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((k) => [k.name, proto.temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}`]]),
    ),
  });
  return missing.map((k) => k.name);
}

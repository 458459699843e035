/**
 * The contract under the names the frozen legacy workflow was written with (its body may not
 * change): the central store as an assigned-store payload, and the store's search attribute key.
 */
import { CENTRAL_STORE as CENTRAL, SearchAttributes as CURRENT } from '../contract.js';

export * from '../contract.js';
export const SearchAttributes = { ...CURRENT, agencyId: CURRENT.storeId } as const;
export const CENTRAL_STORE = { agencyId: CENTRAL.id, agencyName: CENTRAL.name } as const;

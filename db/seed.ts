/** Idempotent demo data: phones with stock (through the ledger) and Seoul dealer stores. */
import type { Kysely } from 'kysely';
import { DEMO_AGENCIES, DEMO_PRODUCTS } from './data/demo.js';
import { recordStockMove, stockKeys } from './repositories/stock.js';
import type { Database } from './schema.js';

export async function seedDemoData(db: Kysely<Database>): Promise<{ products: number; agencies: number }> {
  return db.transaction().execute(async (trx) => {
    let products = 0;
    for (const p of DEMO_PRODUCTS) {
      const inserted = await trx
        .insertInto('products')
        .values({ sku: p.sku, name: p.name, brand: p.brand, price_krw: p.price_krw, stock: p.stock })
        .onConflict((oc) => oc.column('sku').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) continue;
      products++;
      await recordStockMove(trx, {
        productId: inserted.id,
        reservationId: null,
        kind: 'INITIAL',
        delta: p.stock,
        key: stockKeys.initial(p.sku),
      });
    }
    const agencies = await trx
      .insertInto('agencies')
      .values(DEMO_AGENCIES)
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return { products, agencies: Number(agencies.numInsertedOrUpdatedRows ?? 0) };
  });
}

/** Product catalogue queries. */
import type { Kysely } from 'kysely';
import type { Database, Db, Product } from '../../db/schema.js';
import { sql } from 'kysely';
import { putBackStock, recordStockMove, stockKeys } from './stock.js';

export async function listProducts(db: Db): Promise<Product[]> {
  return db.selectFrom('products').selectAll().orderBy('id').execute();
}

export async function findProduct(db: Db, id: number): Promise<Product | undefined> {
  return db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Creates a product whose initial stock enters through the ledger (so stock = sum of moves). */
export async function createProduct(
  db: Kysely<Database>,
  p: { sku: string; name: string; brand: string; priceKrw: number; stock: number },
): Promise<Product | undefined> {
  return db.transaction().execute(async (trx) => {
    const product = await trx
      .insertInto('products')
      .values({ sku: p.sku, name: p.name, brand: p.brand, price_krw: p.priceKrw, stock: p.stock })
      .onConflict((oc) => oc.column('sku').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (product) await trx.insertInto('sales').values({ product_id: product.id }).execute();
    if (product && p.stock > 0) {
      await recordStockMove(trx, {
        productId: product.id,
        reservationId: null,
        kind: 'INITIAL',
        delta: p.stock,
        key: stockKeys.initial(p.sku),
      });
    }
    return product;
  });
}

export async function updateProduct(db: Db, id: number, patch: { name?: string; brand?: string; priceKrw?: number }) {
  return db
    .updateTable('products')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.brand !== undefined ? { brand: patch.brand } : {}),
      ...(patch.priceKrw !== undefined ? { price_krw: patch.priceKrw } : {}),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Adds stock through the ledger; the same `key` never adds twice. */
export async function restockProduct(db: Kysely<Database>, id: number, quantity: number, key: string): Promise<Product | undefined> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('stock_ledger')
      .values({ product_id: id, reservation_id: null, kind: 'RESTOCK', delta: quantity, idempotency_key: key })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) {
      await putBackStock(trx, id, quantity);
      // A restock ends a sell-out: from now on the product is for sale again, its refusals as ever.
      await trx.updateTable('sales').set({ sold_out_at: null, updated_at: sql`now()` }).where('product_id', '=', id).execute();
    }
    return findProduct(trx, id);
  });
}

/** Product catalogue queries. */
import type { Db, Product } from '../schema.js';

export async function listProducts(db: Db): Promise<Product[]> {
  return db.selectFrom('products').selectAll().orderBy('id').execute();
}

export async function findProduct(db: Db, id: number): Promise<Product | undefined> {
  return db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

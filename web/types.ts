/**
 * The API's JSON shapes, taken from the zod schemas that validate and document them (api/schemas.ts
 * and the routes' own). Type-only imports: erased by the build, so neither zod nor the server's
 * modules reach the bundle (test/unit/layout.test.ts checks the bundle's inputs).
 */
import type { z } from 'zod';
import type { IdentitiesSchema, LoginAnswerSchema } from '../api/routes/dev-schema.js';
import type { DrawSchema, NotificationSchema, ProductSchema, ReservationSchema, SaleSchema, StoreSchema, TicketSchema, UpdateSaleSchema } from '../api/schemas.js';
import type { LaunchDeskSchema } from '../app/launch/desk-schema.js';
import type { listRoute } from '../app/reservation/openapi.js';

/** What a route answers with 200, by its OpenAPI definition. */
type Ok<Route extends { responses: { 200: { content: { 'application/json': { schema: z.ZodType } } } } }> = z.output<
  Route['responses'][200]['content']['application/json']['schema']
>;

export type { Fulfilment, ReservationStatus } from '../app/reservation/statuses.js';

export type Product = z.output<typeof ProductSchema>;
/** A product's sale as the desk sees it (`GET /products/{id}/sale`). */
export type Sale = z.output<typeof SaleSchema>;
export type SaleState = Sale['state'];
/** How those who join before the opening are ordered: first-come, or a lottery drawn at the opening. */
export type LineOrder = Sale['order'];
/** What the desk may change of a sale (`PATCH /products/{id}/sale`). */
export type SalePatch = z.input<typeof UpdateSaleSchema>;
/** The lottery's public record (`GET /products/{id}/draw`). */
export type Draw = z.output<typeof DrawSchema>;

/** A customer's place in a product's line (`GET /tickets/{id}`, `ticket` events). */
export type Ticket = z.output<typeof TicketSchema>;
export type TicketStatus = Ticket['status'];

export type Reservation = z.output<typeof ReservationSchema>;
/** A text in each of the app's languages. */
export type Label = Reservation['statusLabel'];
/** The app's languages (web/i18n.ts), those the API labels its statuses in: Korean first. */
export type Lang = keyof Label;

/** A page of `GET /reservations`; `nextCursor` asks for the next. */
export type ReservationPage = Ok<typeof listRoute>;

export type Notification = z.output<typeof NotificationSchema>;

/** A store as the desk changes it (`PATCH /stores/{id}`). */
export type Store = z.output<typeof StoreSchema>;

/** Demo identities to sign in as, and the token one gets (development stack only). */
export type Identities = z.output<typeof IdentitiesSchema>;
export type LoginAnswer = z.output<typeof LoginAnswerSchema>;
export type Role = LoginAnswer['role'];

/** The launch desk's answer (`GET /launch-desk`). */
export type LaunchDesk = z.output<typeof LaunchDeskSchema>;
/** Reservations by status; a status with none is left out. */
export type DeskCounts = LaunchDesk['products'][number]['counts'];
/** The launch's figures at one moment (the desk's charts); `accepted`: units taken so far. */
export type Sample = LaunchDesk['products'][number]['samples'][number];

/** Customer notifications: sent by the Python notifier (notifier/); this worker keeps one legacy activity. */

export function createNotificationActivities() {
  return {
    /**
     * Reservations started before the outbox was delivered outside the workflow still call this
     * from their history; the notifier now does the delivering (its drain takes their rows).
     */
    async deliverNotifications(_input: { reservationId: string }): Promise<{ sent: number }> {
      return { sent: 0 };
    },
  };
}

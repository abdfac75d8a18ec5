/** Where the admin API serves the bull-board dashboard (kept apart so that bull-board loads only when asked for). */
export const DASHBOARD_PATH = '/admin/queues';

/** The ops console's words (English) and its I18n instance. */
import { I18n } from '../shared/I18n.js';
import { signInMessages } from '../shared/SignInForm.js';

const en = {
  ...signInMessages,
  'ops.title': 'Flashcast ops',
  'ops.loading': 'Loading…',
  'ops.updated': 'Updated {when}',
  'ops.auto': 'Auto-refresh',
  'ops.refresh': 'Refresh',
  'ops.signOut': 'Sign out',
  'ops.overview': 'Gateways',
  'ops.nodes': 'Gateway nodes',
  'ops.node': 'Node',
  'ops.connections': 'Connections',
  'ops.rooms': 'Rooms',
  'ops.messagesPerSecond': 'Messages in /s',
  'ops.deliveriesPerSecond': 'Deliveries /s',
  'ops.reported': 'Reported',
  'ops.liveRooms': 'Live rooms',
  'ops.noRooms': 'No room has anyone in it.',
  'ops.room': 'Room',
  'ops.viewers': 'Viewers',
  'ops.video': 'Video',
  'ops.publishing': 'live',
  'ops.deal': 'Running deal',
  'ops.byNode': 'Per node',
  'ops.failedJobs': 'Failed settlement jobs',
  'ops.queue.settle': 'Settle',
  'ops.queue.commission': 'Commission',
  'ops.queue.refund': 'Refund',
  'ops.noJobs': 'No failed jobs in this queue.',
  'ops.attempts_one': '{count} attempt',
  'ops.attempts_other': '{count} attempts',
  'ops.replay': 'Replay',
  'ops.jobReplayed': 'Job {id} is queued again.',
  'ops.failedDeliveries': 'Failed webhook deliveries',
  'ops.noDeliveries': 'No failed deliveries.',
  'ops.deliveryReplayed': 'Delivery {id} is queued again.',
  'error.FORBIDDEN': 'Not allowed with this sign-in: the console needs an ops token.',
  'error.UNAUTHORIZED': 'Your sign-in expired: sign in again.',
} as const;

/** The console's language: English. */
export const i18n = new I18n({ en });

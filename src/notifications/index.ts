export {
  Notifier,
  type Notification,
  type Delivery,
  type NotifierOptions,
  type NotificationsSection,
} from './notifier.js';
export { NotificationStateStore, NOTIFICATION_MIGRATIONS, type NotifierState } from './state.js';

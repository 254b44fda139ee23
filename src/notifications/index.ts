export {
  Notifier,
  type Notification,
  type Delivery,
  type NotifierOptions,
  type NotificationsSection,
} from './notifier.js';

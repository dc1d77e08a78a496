/** Genesys Cloud Notification Service limits the worker plans around (DESIGN.md section 1). Pure constants. */

/** Topics one channel accepts (400 above); the worker shards larger topic lists across channels. */
export const MAX_TOPICS_PER_CHANNEL = 1000;

/** Channels per OAuth client; the 21st evicts the oldest one without a socket. */
export const MAX_CHANNELS_PER_CLIENT = 20;

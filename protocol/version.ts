/**
 * Wire protocol version. Bump it on any change a peer built against the old
 * docs/protocol.md could misread; the coordinator refuses a `device:join`
 * that names another version (error code `version`).
 */
export const PROTOCOL_VERSION = 1;

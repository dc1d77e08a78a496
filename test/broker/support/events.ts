export { CALLER, getToken, refreshToken, urlEvent } from "../../../bench/support/function-url-events.ts";

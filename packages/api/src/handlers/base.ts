import { sendJson, type Handler } from '../context';

/** `GET /v2/` (end-1): the API version check. 200 with `{}`; the version header is on every response. */
export const getBase: Handler = async (ctx) => {
  sendJson(ctx.res, 200, {});
};

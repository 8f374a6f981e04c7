import { sendJson, type Handler } from '../context';

/**
 * `GET /v2/_berth/usage` (Berth's; docs/api.md): the storage each repository uses, and the total.
 * Answered from the registry's usage cache, which never lags this process's writes and lists the
 * storage again at most every `usageMaxAgeMs` for what other processes changed.
 */
export const getUsage: Handler = async (ctx) => {
  sendJson(ctx.res, 200, await ctx.registry.usage());
};

import { ScopedStorage } from '@lib/common';

/** The id of the request being served, for the `reqId` of every line logged while serving it. */
export const requestIds = new ScopedStorage<string>();

import type { Client } from './client';
import type { ExpectedState } from './expected-state';
import { API, type Lane, type Reply, type ServerConfig } from './types';

/** The outcome of {@link verify}: how many slots and deleted ids it checked, and what differed. */
export interface Verification {
  checked: number;
  lost: string[];
}

type Get = (path: string) => Promise<Reply>;

/**
 * Compares the server's final state with every lane's model: each slot in the list and by id
 * (the cached path), nothing more in the list, the active model and the fallback chain, and a
 * 404 for each deleted id kept; returns the differences.
 */
export async function verify(client: Client, state: ExpectedState): Promise<Verification> {
  const found: Verification = { checked: 0, lost: [] };
  const get: Get = async (path) => client.send('GET', path);
  for (const lane of state.lanes) {
    await verifySlots(get, lane, found);
    await verifyDerived(get, lane, found.lost);
  }
  for (const id of state.deletedIds) {
    found.checked++;
    const res = await get(`${API}/model-configs/${id}`);
    if (res.status !== 404) found.lost.push(`deleted ${id}: GET → ${res.status}`);
  }
  return found;
}

/** Each slot of the lane in the list and by id, and nothing else in the list. */
async function verifySlots(get: Get, lane: Lane, found: Verification): Promise<void> {
  const { lost } = found;
  const t = lane.usageType;
  const page = await get(`${API}/model-configs?usageType=${t}&limit=1000`);
  const items =
    page.status === 200 ? (JSON.parse(page.text) as { items: ServerConfig[] }).items : [];
  const server = new Map(items.map((item) => [item.priority, item]));
  for (const [priority, want] of lane.slots) {
    found.checked++;
    const got = server.get(priority);
    const same =
      got !== undefined &&
      got.id === want.id &&
      got.modelId === want.modelId &&
      got.modelName === want.modelName &&
      got.provider === want.provider &&
      got.enabled === want.enabled &&
      got.version === want.version &&
      JSON.stringify(got.parameters) === JSON.stringify(want.parameters);
    if (!same)
      lost.push(`${t}/${priority}: want ${JSON.stringify(want)}, list has ${JSON.stringify(got)}`);
    // The cached path (by id, response cache) must agree too.
    const byId = await get(`${API}/model-configs/${want.id}`);
    const one = byId.status === 200 ? (JSON.parse(byId.text) as ServerConfig) : undefined;
    if (one?.version !== want.version || one.modelName !== want.modelName) {
      lost.push(
        `${t}/${priority}: GET by id ${want.id} → ${byId.status} ${byId.text.slice(0, 200)}`,
      );
    }
  }
  for (const [priority, got] of server) {
    if (!lane.slots.has(priority)) lost.push(`${t}/${priority}: unexpected ${JSON.stringify(got)}`);
  }
}

/** Derived, cached reads: the active model and the fallback chain. */
async function verifyDerived(get: Get, lane: Lane, lost: string[]): Promise<void> {
  const t = lane.usageType;
  const ordered = [...lane.slots.values()].sort((a, b) => a.priority - b.priority);
  const enabled = ordered.filter((c) => c.enabled);
  const active = await get(`${API}/usage-types/${t}/active`);
  const activeId = active.status === 200 ? (JSON.parse(active.text) as ServerConfig).id : null;
  if (activeId !== (enabled[0]?.id ?? null)) {
    lost.push(`${t}: active is ${activeId}, expected ${enabled[0]?.id ?? 'none (404)'}`);
  }
  const chain = await get(`${API}/usage-types/${t}/fallback-chain`);
  const modelIds =
    chain.status === 200 ? (JSON.parse(chain.text) as { modelIds: string[] }).modelIds : null;
  const expectedChain = ordered.length === 0 ? null : enabled.map((c) => c.modelId);
  if (JSON.stringify(modelIds) !== JSON.stringify(expectedChain)) {
    lost.push(
      `${t}: fallback chain ${JSON.stringify(modelIds)}, expected ${JSON.stringify(expectedChain)}`,
    );
  }
}

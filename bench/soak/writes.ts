import type { Client } from './client';
import { countedCall, type Counters } from './counters';
import type { ExpectedState } from './expected-state';
import type { ConfigFields, MixRandom } from './mix-random';
import { API, LANE_CAPACITY, type Lane, type Reply, type ServerConfig } from './types';

/**
 * The writes of the mix, one kind chosen at random per call (create, PATCH, PUT by slot, DELETE
 * by id or slot, bulk create, chain replacement), each checked against and recorded in the
 * {@link ExpectedState}. The caller holds the lane, so a lane's writes never overlap.
 */
export class LaneWriter {
  constructor(
    private readonly client: Client,
    private readonly counters: Counters,
    private readonly state: ExpectedState,
    private readonly mix: MixRandom,
  ) {}

  /** One write to `lane`, of a kind that suits how full it is. */
  async write(lane: Lane): Promise<void> {
    const r = this.mix.random();
    const full = lane.slots.size >= LANE_CAPACITY;
    const empty = lane.slots.size === 0;
    if (r < 0.2) return full ? this.remove(lane) : this.create(lane);
    if (r < 0.45) return empty ? this.create(lane) : this.patch(lane);
    if (r < 0.65) return this.putSlot(lane);
    if (r < 0.8) return empty ? this.create(lane) : this.remove(lane);
    if (r < 0.9) return full ? this.remove(lane) : this.bulk(lane);
    return this.chain(lane);
  }

  private call(
    kind: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply | undefined> {
    return countedCall(this.client, this.counters, kind, method, path, body, headers);
  }

  private unexpected(kind: string, reply: Reply | undefined, expected: string): void {
    if (!reply) return;
    this.counters.unexpected++;
    this.counters.problem(
      `${kind}: expected ${expected}, got ${reply.status} ${reply.text.slice(0, 200)}`,
    );
  }

  /** After a write whose outcome is unknown (no answer), learn the lane's state from the server. */
  private async resync(lane: Lane): Promise<void> {
    const page = await this.client
      .send('GET', `${API}/model-configs?usageType=${lane.usageType}&limit=1000`)
      .catch(() => undefined);
    if (page?.status !== 200) return;
    this.state.reset(lane, (JSON.parse(page.text) as { items: ServerConfig[] }).items);
  }

  private async finish(lane: Lane, reply: Reply | undefined): Promise<Reply | undefined> {
    if (!reply) await this.resync(lane);
    if (reply && reply.status >= 200 && reply.status < 300) this.counters.writesOk++;
    return reply;
  }

  private async create(lane: Lane): Promise<void> {
    const priority = this.mix.pick(this.state.freePriorities(lane));
    const body = this.mix.fields(lane.usageType, priority);
    const reply = await this.finish(
      lane,
      await this.call('POST create', 'POST', `${API}/model-configs`, body),
    );
    if (reply?.status === 201)
      this.state.accept(lane, body, JSON.parse(reply.text) as ServerConfig, 1);
    else this.unexpected('POST create', reply, '201');
  }

  private async patch(lane: Lane): Promise<void> {
    const current = this.mix.pick([...lane.slots.values()]);
    const next = this.mix.fields(lane.usageType, current.priority);
    const body: Record<string, unknown> = { modelName: next.modelName };
    if (this.mix.random() < 0.5) body.parameters = next.parameters;
    if (this.mix.random() < 0.3) body.enabled = next.enabled;
    if (this.mix.random() < 0.3) body.modelId = next.modelId;
    if (this.mix.random() < 0.2) body.provider = next.provider;
    const headers = this.mix.random() < 0.5 ? { 'if-match': `"${current.version}"` } : undefined;
    const reply = await this.finish(
      lane,
      await this.call('PATCH', 'PATCH', `${API}/model-configs/${current.id}`, body, headers),
    );
    if (reply?.status === 200) {
      const got = JSON.parse(reply.text) as ServerConfig;
      if (got.id !== current.id) this.counters.wrongAcks++;
      this.state.accept(
        lane,
        { ...current, usageType: lane.usageType, ...body },
        got,
        current.version + 1,
      );
    } else this.unexpected('PATCH', reply, '200');
  }

  private async putSlot(lane: Lane): Promise<void> {
    const free = this.state.freePriorities(lane);
    const occupied = [...lane.slots.keys()];
    const replace =
      occupied.length > 0 &&
      (free.length === 0 || lane.slots.size >= LANE_CAPACITY || this.mix.random() < 0.5);
    const priority = replace ? this.mix.pick(occupied) : this.mix.pick(free);
    const current = lane.slots.get(priority);
    const { usageType: _u, priority: _p, ...body } = this.mix.fields(lane.usageType, priority);
    const headers =
      current && this.mix.random() < 0.5 ? { 'if-match': `"${current.version}"` } : undefined;
    const reply = await this.finish(
      lane,
      await this.call(
        'PUT by-slot',
        'PUT',
        `${API}/model-configs/by-slot/${lane.usageType}/${priority}`,
        body,
        headers,
      ),
    );
    const expected = current ? 200 : 201;
    if (reply?.status === expected) {
      const got = JSON.parse(reply.text) as ServerConfig;
      if (current && got.id !== current.id) this.counters.wrongAcks++;
      this.state.accept(
        lane,
        { ...body, usageType: lane.usageType, priority },
        got,
        current ? current.version + 1 : 1,
      );
    } else this.unexpected('PUT by-slot', reply, String(expected));
  }

  private async remove(lane: Lane): Promise<void> {
    const current = this.mix.pick([...lane.slots.values()]);
    const bySlot = this.mix.random() < 0.4;
    const reply = await this.finish(
      lane,
      bySlot
        ? await this.call(
            'DELETE by-slot',
            'DELETE',
            `${API}/model-configs/by-slot/${lane.usageType}/${current.priority}`,
          )
        : await this.call(
            'DELETE',
            'DELETE',
            `${API}/model-configs/${current.id}`,
            undefined,
            this.mix.random() < 0.5 ? { 'if-match': `"${current.version}"` } : undefined,
          ),
    );
    if (reply?.status === 204) this.state.forget(lane, current.priority);
    else this.unexpected('DELETE', reply, '204');
  }

  private async bulk(lane: Lane): Promise<void> {
    const free = this.state.freePriorities(lane);
    const count = Math.min(free.length, 1 + Math.floor(this.mix.random() * 4));
    const items: ConfigFields[] = [];
    for (let i = 0; i < count; i++) {
      const at = Math.floor(this.mix.random() * free.length);
      items.push(this.mix.fields(lane.usageType, free.splice(at, 1)[0]));
    }
    const reply = await this.finish(
      lane,
      await this.call('POST bulk', 'POST', `${API}/model-configs/bulk`, { items }),
    );
    if (reply?.status === 201) {
      const got = (JSON.parse(reply.text) as { items: ServerConfig[] }).items;
      if (got.length !== items.length) this.counters.wrongAcks++;
      got.forEach((config, i) => this.state.accept(lane, items[i], config, 1));
    } else this.unexpected('POST bulk', reply, '201');
  }

  private async chain(lane: Lane): Promise<void> {
    const count = 1 + Math.floor(this.mix.random() * 5);
    const items = Array.from({ length: count }, (_, i) => {
      const { usageType: _u, priority: _p, ...item } = this.mix.fields(lane.usageType, i + 1);
      return item;
    });
    const reply = await this.finish(
      lane,
      await this.call('PUT chain', 'PUT', `${API}/usage-types/${lane.usageType}/chain`, { items }),
    );
    if (reply?.status === 200) {
      for (const priority of [...lane.slots.keys()]) this.state.forget(lane, priority);
      const got = (JSON.parse(reply.text) as { items: ServerConfig[] }).items;
      if (got.length !== items.length) this.counters.wrongAcks++;
      got.forEach((config, i) =>
        this.state.accept(
          lane,
          { ...items[i], usageType: lane.usageType, priority: i + 1 },
          config,
          1,
        ),
      );
    } else this.unexpected('PUT chain', reply, '200');
  }
}

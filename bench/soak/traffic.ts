import type { Client } from './client';
import { countedCall, type Counters } from './counters';
import { ExpectedState } from './expected-state';
import { MixRandom } from './mix-random';
import { API, LANES, type Lane, PROVIDERS, type Settings } from './types';
import { LaneWriter } from './writes';

/**
 * The mix, one request per {@link Traffic.next}: `writeShare` writes (when a lane is free),
 * else 1% unknown URLs and the rest reads (active model, fallback chain, filtered and paginated
 * lists, one config by id). The writes keep {@link Traffic.state}, what the server must hold.
 */
export class Traffic {
  /** What the acknowledged writes say the server holds. */
  readonly state: ExpectedState;
  private readonly mix: MixRandom;
  private readonly writer: LaneWriter;

  constructor(
    private readonly client: Client,
    private readonly counters: Counters,
    private readonly settings: Settings,
    seed: number,
  ) {
    this.mix = new MixRandom(seed);
    this.state = new ExpectedState(counters);
    this.writer = new LaneWriter(client, counters, this.state, this.mix);
  }

  /** One request of the mix. */
  async next(): Promise<void> {
    if (this.mix.random() < this.settings.writeShare) {
      const lane = this.freeLane();
      if (lane) {
        lane.busy = true;
        try {
          await this.writer.write(lane);
        } finally {
          lane.busy = false;
        }
        return;
      }
    }
    if (this.mix.random() < 0.01) await this.unknownUrl();
    else await this.read();
  }

  private freeLane(): Lane | undefined {
    const lanes = this.state.lanes;
    const start = Math.floor(this.mix.random() * LANES);
    for (let i = 0; i < LANES; i++) {
      const lane = lanes[(start + i) % LANES];
      if (!lane.busy) return lane;
    }
    return undefined;
  }

  private async get(kind: string, path: string): Promise<void> {
    await countedCall(this.client, this.counters, kind, 'GET', path);
  }

  private async read(): Promise<void> {
    const mix = this.mix;
    const lane = mix.pick(this.state.lanes);
    const t = lane.usageType;
    const r = mix.random();
    if (r < 0.3) {
      await this.get('GET active', `${API}/usage-types/${t}/active`);
    } else if (r < 0.55) {
      await this.get('GET chain', `${API}/usage-types/${t}/fallback-chain`);
    } else if (r < 0.8) {
      const query = new URLSearchParams();
      if (mix.random() < 0.8) query.set('usageType', t);
      if (mix.random() < 0.5) query.set('provider', mix.pick(PROVIDERS));
      if (mix.random() < 0.5) query.set('enabled', mix.random() < 0.5 ? 'true' : 'false');
      query.set('limit', String(mix.pick([5, 10, 20, 50, 100])));
      query.set('offset', String(mix.pick([0, 0, 5, 10, 20])));
      await this.get('GET list', `${API}/model-configs?${query.toString()}`);
    } else {
      const known = [...lane.slots.values()];
      const id =
        known.length > 0 && mix.random() < 0.9
          ? mix.pick(known).id
          : (mix.pick(this.state.deletedIds) ?? '00000000-0000-4000-8000-000000000000');
      await this.get('GET by-id', `${API}/model-configs/${id}`);
    }
  }

  /** Routes nothing matches, each URL new: the metrics must label them all `unmatched`. */
  private async unknownUrl(): Promise<void> {
    const n = this.mix.nextSerial();
    const path = this.mix.random() < 0.5 ? `${API}/no-such-thing/${n}` : `/x${n}?q=${n}`;
    await this.get('GET unknown', path);
  }
}

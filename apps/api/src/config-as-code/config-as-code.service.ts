import { Injectable } from '@nestjs/common';
import { ConstraintViolationError } from '@lib/duckdb';
import { TransactionConflictError, Transactional } from '@lib/transactions';
import { RecordedAs } from '../history/change-context';
import { ModelConfigsRepository } from '../model-configs/model-configs.repository';
import type { ConfigDocument } from './config-document';
import { type ExportDocument, toExportDocument } from './config-export';
import { type ImportPlan, type PlanStep, planImport, toImportPlan } from './config-plan';

/** Reruns of an import that lost a race for an empty slot (see {@link lostSlotRace}). */
const SLOT_RACE_RETRIES = 3;

/**
 * Whether an import failed because a concurrent write took a slot it creates: DuckDB reports a
 * unique violation at the INSERT (the other transaction committed first) or at COMMIT. The plan
 * itself never repeats a slot (it comes from the transaction's own snapshot), so a rerun plans
 * again and updates that slot instead.
 */
function lostSlotRace(error: unknown): boolean {
  return error instanceof ConstraintViolationError && error.kind === 'unique';
}

/** Configuration as code: the export document, and import plans (dry run or applied). */
@Injectable()
export class ConfigAsCodeService {
  constructor(private readonly repository: ModelConfigsRepository) {}

  /** Every config as a document without server fields, in a stable order. */
  async exportDocument(): Promise<ExportDocument> {
    return toExportDocument(await this.repository.findAll());
  }

  /** The plan that would turn the stored configs into `document`; writes nothing. */
  async planOnly(document: ConfigDocument, prune: boolean): Promise<ImportPlan> {
    const steps = planImport(await this.repository.findAll(), document, prune);
    return toImportPlan(steps, true);
  }

  /**
   * Plans and applies `document` in one transaction, all or nothing: the plan is made from the
   * state the transaction sees, so the answer is exactly what was written. Its writes are one
   * change set in the history (operation `import`).
   */
  @RecordedAs('import')
  async apply(document: ConfigDocument, prune: boolean): Promise<ImportPlan> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.applyOnce(document, prune);
      } catch (error) {
        if (!lostSlotRace(error)) throw error;
        if (attempt >= SLOT_RACE_RETRIES) throw new TransactionConflictError({ cause: error });
      }
    }
  }

  @Transactional()
  private async applyOnce(document: ConfigDocument, prune: boolean): Promise<ImportPlan> {
    // Inside the transaction this read skips the cache and sees the transaction's snapshot.
    const steps = planImport(await this.repository.findAll(), document, prune);
    const now = new Date();
    for (const step of steps) await this.applyStep(step, now);
    return toImportPlan(steps, false);
  }

  /** One step through the repository's writes (each bumps versions and invalidates caches). */
  private async applyStep(step: PlanStep, now: Date): Promise<void> {
    switch (step.action) {
      case 'create':
        await this.repository.insert(step.fields, now);
        return;
      case 'update':
        // Undefined: the row changed since this transaction read it (a lost race): rerun.
        if ((await this.repository.update(step.current, step.fields, now)) === undefined) {
          throw new TransactionConflictError();
        }
        return;
      case 'delete':
        await this.repository.delete(step.current);
        return;
      case 'unchanged':
        return;
    }
  }
}

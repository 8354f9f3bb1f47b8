import { type ValidationError, validateSync } from 'class-validator';
import { ApiError } from '../common/api-error';
import { CreateModelConfigDto } from '../model-configs/dto/model-config.dto';
import { UsageTypeParams } from '../model-configs/dto/params.dto';
import { fieldPath, findDataProblem, isPlainObject } from './document-data';

/**
 * One config of a usage type in a configuration document: the writable fields, without the
 * usage type (the key it is listed under) and without server fields (id, version, timestamps).
 */
export interface DocumentItem {
  priority: number;
  modelId: string;
  modelName: string;
  provider: string;
  enabled: boolean;
  parameters: Record<string, unknown>;
}

/** The fields of a {@link DocumentItem}, in the order a document lists them. */
export const ITEM_FIELDS = [
  'priority',
  'modelId',
  'modelName',
  'provider',
  'enabled',
  'parameters',
] as const;

/** A validated document: each usage type's items by ascending priority (usage types are data). */
export interface ConfigDocument {
  usageTypes: Map<string, DocumentItem[]>;
}

/** Most configs one usage type can have: priorities are unique and 1..1000. */
export const MAX_ITEMS_PER_USAGE_TYPE = 1000;
/** Most configs one document may hold (all usage types together). */
export const MAX_DOCUMENT_ITEMS = 10_000;
/** Messages a 400 carries at most (the error body keeps 20); validation stops there. */
const MAX_MESSAGES = 20;

const KNOWN_ITEM_FIELDS: ReadonlySet<string> = new Set(ITEM_FIELDS);
const VALIDATOR_OPTIONS = {
  stopAtFirstError: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

/**
 * Validates a parsed configuration document (JSON or YAML) with the rules of the other write
 * routes (the create DTO's validators), and returns it. Throws a 400 `VALIDATION_FAILED` whose
 * messages name the path of each bad field (`usageTypes.chat_deep[2].provider must match …`):
 * unknown fields, a bad usage type, wrong types, duplicate priorities within a usage type.
 */
export function parseConfigDocument(body: unknown): ConfigDocument {
  const dataProblem = findDataProblem(body);
  if (dataProblem !== undefined) throw ApiError.validation([dataProblem]);
  if (!isPlainObject(body)) {
    throw ApiError.validation(['document must be an object with a usageTypes field']);
  }
  const messages: string[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'usageTypes') messages.push(`${fieldPath('', key)} is not allowed`);
  }
  const usageTypes = Object.hasOwn(body, 'usageTypes') ? body.usageTypes : undefined;
  if (usageTypes === undefined) messages.push('usageTypes is required');
  else if (!isPlainObject(usageTypes)) messages.push('usageTypes must be an object');
  const document: ConfigDocument = { usageTypes: new Map() };
  if (isPlainObject(usageTypes)) readUsageTypes(usageTypes, document, messages);
  if (messages.length > 0) throw ApiError.validation(messages.slice(0, MAX_MESSAGES));
  return document;
}

function readUsageTypes(
  usageTypes: Record<string, unknown>,
  document: ConfigDocument,
  messages: string[],
): void {
  let total = 0;
  for (const usageType of Object.keys(usageTypes)) {
    if (messages.length >= MAX_MESSAGES) return;
    const path = fieldPath('usageTypes', usageType);
    messages.push(...usageTypeMessages(usageType, path));
    const list = usageTypes[usageType];
    if (!Array.isArray(list)) {
      messages.push(`${path} must be an array`);
      continue;
    }
    if (list.length > MAX_ITEMS_PER_USAGE_TYPE) {
      messages.push(`${path} must contain at most ${MAX_ITEMS_PER_USAGE_TYPE} items`);
      continue;
    }
    total += list.length;
    if (total > MAX_DOCUMENT_ITEMS) {
      messages.push(`usageTypes must hold at most ${MAX_DOCUMENT_ITEMS} configs in all`);
      return;
    }
    const items = readItems(usageType, list, path, messages);
    document.usageTypes.set(usageType, items);
  }
}

/** The usage type (a key of `usageTypes`) checked like the `:usageType` path parameter. */
function usageTypeMessages(usageType: string, path: string): string[] {
  const params = new UsageTypeParams();
  params.usageType = usageType;
  // The messages name the property (`usageType must match …`): name the key's path instead.
  return messagesOf(validateSync(params, VALIDATOR_OPTIONS)).map((message) =>
    message.replace(/^usageType\b/, path),
  );
}

/** A usage type's items, validated, by ascending priority; duplicate priorities are refused. */
function readItems(
  usageType: string,
  list: unknown[],
  path: string,
  messages: string[],
): DocumentItem[] {
  const items: DocumentItem[] = [];
  const firstAt = new Map<number, string>();
  for (const [index, raw] of list.entries()) {
    if (messages.length >= MAX_MESSAGES) break;
    const itemPath = fieldPath(path, index);
    const item = readItem(usageType, raw, itemPath, messages);
    if (item === undefined) continue;
    const earlier = firstAt.get(item.priority);
    if (earlier !== undefined) {
      messages.push(`${itemPath}.priority ${item.priority} is already used by ${earlier}`);
      continue;
    }
    firstAt.set(item.priority, itemPath);
    items.push(item);
  }
  return items.sort((a, b) => a.priority - b.priority);
}

/** One item, checked with the create DTO's rules; undefined (and messages) when invalid. */
function readItem(
  usageType: string,
  raw: unknown,
  path: string,
  messages: string[],
): DocumentItem | undefined {
  if (!isPlainObject(raw)) {
    messages.push(`${path} must be an object`);
    return undefined;
  }
  const unknownFields = Object.keys(raw).filter((key) => !KNOWN_ITEM_FIELDS.has(key));
  for (const key of unknownFields) messages.push(`${fieldPath(path, key)} is not allowed`);
  const field = (name: (typeof ITEM_FIELDS)[number]): unknown =>
    Object.hasOwn(raw, name) ? raw[name] : undefined;
  const dto = new CreateModelConfigDto();
  dto.usageType = usageType;
  dto.priority = field('priority') as number;
  dto.modelId = field('modelId') as string;
  dto.modelName = field('modelName') as string;
  dto.provider = field('provider') as string;
  dto.enabled = field('enabled') as boolean | undefined;
  dto.parameters = field('parameters') as Record<string, unknown> | undefined;
  // The usage type was checked (and named by its own path) already.
  const errors = validateSync(dto, VALIDATOR_OPTIONS).filter((e) => e.property !== 'usageType');
  const fieldMessages = messagesOf(errors).map((message) => `${path}.${message}`);
  messages.push(...fieldMessages);
  if (unknownFields.length > 0 || fieldMessages.length > 0) return undefined;
  return {
    priority: dto.priority,
    modelId: dto.modelId,
    modelName: dto.modelName,
    provider: dto.provider,
    enabled: dto.enabled ?? true,
    parameters: dto.parameters ?? {},
  };
}

/** class-validator's messages, each starting with the property it is about. */
function messagesOf(errors: ValidationError[]): string[] {
  return errors.flatMap((error) => Object.values(error.constraints ?? {}));
}

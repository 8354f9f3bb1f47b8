import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance, errorCodes } from 'fastify';
import { Composer, LineCounter, type YAMLError } from 'yaml';
import { BodyParseError, MAX_BODY_DEPTH } from '../common/json-body.parser';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.constants';
import { IMPORT_ROUTE } from './config-as-code.constants';
import { parseSyntaxTree } from './yaml-syntax-tree';

/** The media types read as YAML, on the import route only. */
export const YAML_MEDIA_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml'];

/** Most alias expansions a YAML document may cause (billion laughs are refused with 400). */
export const MAX_YAML_ALIASES = 100;

const TOO_DEEP = `nests deeper than ${MAX_BODY_DEPTH} levels`;

/**
 * Safe loading: YAML 1.2's core schema whatever the document's `%YAML` directive says (no
 * `!!binary`, `!!timestamp`, `!!set`, merge keys or custom tags: an unknown tag is refused),
 * unique keys, string keys only.
 */
const PARSE_OPTIONS = {
  version: '1.2',
  schema: 'core',
  resolveKnownTags: false,
  merge: false,
  uniqueKeys: true,
  stringKeys: true,
  strict: true,
  prettyErrors: false,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_SHOWN_MESSAGE = 200;

/**
 * Parses a YAML request body into plain data. Invalid UTF-8, syntax errors, duplicate keys,
 * unknown tags, several documents (`---`) and too many alias expansions are 400s (naming the line
 * and column); nesting past {@link MAX_BODY_DEPTH} levels is refused while parsing, as soon as
 * it is reached. An empty body reads as `{}`, like an empty JSON body. The value's shape (depth, members, `__proto__`, strings,
 * numbers) is checked by the importer, for JSON and YAML alike.
 */
export function parseYamlBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyParseError('The body is not valid UTF-8.');
  }
  const { documents, lineCounter } = parseDocuments(text);
  // No document at all (only comments or whitespace) reads as null: not an object.
  if (documents.length === 0) return null;
  if (documents.length > 1) {
    throw new BodyParseError('The body holds several YAML documents; send one.');
  }
  const [document] = documents;
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) throw new BodyParseError(describe(problem, lineCounter));
  try {
    return document.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    throw new BodyParseError(
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? `The YAML document expands aliases too often (maxAliasCount ${MAX_YAML_ALIASES}).`
        : 'The YAML document cannot be read.',
    );
  }
}

/**
 * `parseAllDocuments`, in its steps: the syntax tree is built (without recursion) and refused as
 * soon as it nests past {@link MAX_BODY_DEPTH} levels, before documents are composed from it
 * (which recurses once per level: a few hundred thousand levels ran the process out of memory).
 */
function parseDocuments(text: string) {
  const lineCounter = new LineCounter();
  const tokens = parseSyntaxTree(text, lineCounter, MAX_BODY_DEPTH);
  if (tokens === undefined) throw new BodyParseError(`The YAML document ${TOO_DEEP}.`);
  const documents = Array.from(new Composer(PARSE_OPTIONS).compose(tokens));
  return { documents, lineCounter };
}

function describe(problem: YAMLError, lineCounter: LineCounter): string {
  const { line, col } = lineCounter.linePos(problem.pos[0]);
  const message =
    problem.code === 'RESOURCE_EXHAUSTION' ? TOO_DEEP : problem.message.slice(0, MAX_SHOWN_MESSAGE);
  return `The YAML document is invalid at line ${line}, column ${col}: ${message}`;
}

/**
 * Registers {@link parseYamlBody} for the {@link YAML_MEDIA_TYPES} with a body limit (413
 * `PAYLOAD_TOO_LARGE` past it). Only `route` takes YAML: any other route answers such a body with
 * 415, as it answers every body that is not JSON.
 */
export function registerYamlBodyParser(
  fastify: FastifyInstance,
  route: string,
  bodyLimit: number,
): void {
  if (YAML_MEDIA_TYPES.some((type) => fastify.hasContentTypeParser(type))) return;
  fastify.addContentTypeParser(
    YAML_MEDIA_TYPES,
    { parseAs: 'buffer', bodyLimit },
    (request, body, done) => {
      if (request.routeOptions.url !== route) {
        done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), undefined);
        return;
      }
      try {
        done(null, parseYamlBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}

/**
 * Adds the YAML body parser to the application's Fastify instance when the modules start, after
 * `hardenFastify` (called right after the application is created) has replaced Fastify's parsers
 * with the strict JSON one. Does nothing in an application context without HTTP.
 */
@Injectable()
export class YamlBodyParserRegistration implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (typeof fastify?.addContentTypeParser !== 'function') return;
    registerYamlBodyParser(fastify, IMPORT_ROUTE, this.config.bodyLimit);
  }
}

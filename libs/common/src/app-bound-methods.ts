import type { DiscoveryService } from '@nestjs/core';

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * Method decorators whose wrappers need an object owned by the running application (a
 * transaction manager, a policy registry) without dependency injection into the decorated class.
 *
 * The decorator wraps the method once, at class definition, keeping its metadata (routes, Swagger,
 * other decorators) and marking it under `metadataKey`. At startup the owning library calls
 * {@link bind}: every provider and controller with marked methods gets the application's object
 * on a private symbol, so several applications in one process (or test modules) never mix. Objects
 * Nest did not create fall back to the most recently bound application's object.
 *
 * @example
 * const BINDING = new AppBoundMethods<TransactionManager>('transactions', 'TRANSACTIONS:METHODS');
 * export const Transactional = (o) => BINDING.decorator('Transactional', (m, invoke) => m.run(o, invoke));
 */
export class AppBoundMethods<T extends object> {
  private readonly ref: symbol;
  private fallback: T | undefined;

  constructor(
    /** The owning library, for error messages. */
    private readonly library: string,
    /** Metadata key marking decorated methods; its value lists the decorators applied. */
    readonly metadataKey: string,
  ) {
    this.ref = Symbol(library);
  }

  /** A method decorator that runs the method through `apply` with the application's object. */
  decorator(
    kind: string,
    apply: (owner: T, invoke: () => Promise<unknown>) => Promise<unknown>,
  ): MethodDecorator {
    const { ref, metadataKey, library } = this;
    const fallback = (): T | undefined => this.fallback;
    return (target, propertyKey, descriptor) => {
      const where = `@${kind} on ${target.constructor.name}.${String(propertyKey)}`;
      const original = descriptor.value as unknown as AnyMethod;
      if (typeof original !== 'function') throw new TypeError(`${where}: not a method`);
      const wrapped = function (this: Record<symbol, T | undefined>, ...args: unknown[]) {
        const owner = this?.[ref] ?? fallback();
        if (!owner) {
          return Promise.reject(
            new Error(`${where}: ${library} is not imported, or the application has not started.`),
          );
        }
        return apply(owner, async () => original.apply(this, args));
      };
      for (const key of Reflect.getOwnMetadataKeys(original)) {
        Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
      }
      const kinds = (Reflect.getOwnMetadata(metadataKey, original) as string[] | undefined) ?? [];
      Reflect.defineMetadata(metadataKey, [...kinds, kind], wrapped);
      Object.defineProperty(wrapped, 'name', { value: original.name });
      descriptor.value = wrapped as never;
      return descriptor;
    };
  }

  /** Binds every provider and controller with decorated methods to `owner` (call at startup). */
  bind(discovery: DiscoveryService, owner: T): void {
    for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !this.hasDecoratedMethods(instance))
        continue;
      Object.defineProperty(instance, this.ref, { value: owner, configurable: true });
    }
    this.fallback = owner;
  }

  /** Forgets the fallback of an application that is shutting down. */
  unbind(owner: T): void {
    if (this.fallback === owner) this.fallback = undefined;
  }

  private hasDecoratedMethods(instance: object): boolean {
    for (
      let proto = Object.getPrototypeOf(instance);
      proto && proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto)
    ) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const value = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
        if (typeof value === 'function' && Reflect.hasOwnMetadata(this.metadataKey, value))
          return true;
      }
    }
    return false;
  }
}

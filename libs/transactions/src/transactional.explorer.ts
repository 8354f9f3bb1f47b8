import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { TransactionManager } from '@lib/duckdb';
import { setFallbackTransactionManager } from './transactional.decorator';
import { MANAGER_REF, TRANSACTIONAL_METADATA } from './transactions.constants';

/**
 * Binds every provider and controller that has `@Transactional` methods to this application's
 * transaction manager, so several applications (or test modules) in one process never mix.
 */
@Injectable()
export class TransactionalExplorer implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly manager: TransactionManager,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !hasTransactionalMethods(instance)) continue;
      Object.defineProperty(instance, MANAGER_REF, { value: this.manager, configurable: true });
    }
    setFallbackTransactionManager(this.manager);
  }

  onApplicationShutdown(): void {
    setFallbackTransactionManager(undefined);
  }
}

function hasTransactionalMethods(instance: object): boolean {
  for (
    let proto = Object.getPrototypeOf(instance);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof value === 'function' && Reflect.hasOwnMetadata(TRANSACTIONAL_METADATA, value))
        return true;
    }
  }
  return false;
}

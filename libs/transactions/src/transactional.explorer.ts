import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { TransactionManager } from './engine/transaction-manager';
import { TRANSACTIONAL_METHODS } from './transactional.decorator';

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
    TRANSACTIONAL_METHODS.bind(this.discovery, this.manager);
  }

  onApplicationShutdown(): void {
    TRANSACTIONAL_METHODS.unbind(this.manager);
  }
}

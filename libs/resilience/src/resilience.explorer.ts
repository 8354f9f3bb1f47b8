import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { CircuitBreakerRegistry } from './circuit-breaker.registry';
import { RESILIENT_METHODS } from './resilience.decorators';

/** Binds providers and controllers with resilience-decorated methods to this app's registry. */
@Injectable()
export class ResilienceExplorer implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: CircuitBreakerRegistry,
  ) {}

  onModuleInit(): void {
    RESILIENT_METHODS.bind(this.discovery, this.registry);
  }

  onApplicationShutdown(): void {
    RESILIENT_METHODS.unbind(this.registry);
  }
}

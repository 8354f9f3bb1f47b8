import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { CircuitBreakerRegistry } from './circuit-breaker.registry';
import { REGISTRY_REF, RESILIENCE_METADATA } from './resilience.constants';
import { setFallbackRegistry } from './resilience.decorators';

/** Binds providers and controllers with resilience-decorated methods to this app's registry. */
@Injectable()
export class ResilienceExplorer implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: CircuitBreakerRegistry,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || !hasPolicies(instance)) continue;
      Object.defineProperty(instance, REGISTRY_REF, { value: this.registry, configurable: true });
    }
    setFallbackRegistry(this.registry);
  }

  onApplicationShutdown(): void {
    setFallbackRegistry(undefined);
  }
}

function hasPolicies(instance: object): boolean {
  for (
    let proto = Object.getPrototypeOf(instance);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof value === 'function' && Reflect.hasOwnMetadata(RESILIENCE_METADATA, value))
        return true;
    }
  }
  return false;
}

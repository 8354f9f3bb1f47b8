import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ResiliencePolicies } from './resilience-policies';
import { RESILIENT_METHODS } from './resilience.decorators';

/** Binds providers and controllers with resilience-decorated methods to this app's policies. */
@Injectable()
export class ResilienceExplorer implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly policies: ResiliencePolicies,
  ) {}

  onModuleInit(): void {
    RESILIENT_METHODS.bind(this.discovery, this.policies);
  }

  onApplicationShutdown(): void {
    RESILIENT_METHODS.unbind(this.policies);
  }
}

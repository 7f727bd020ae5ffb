/**
 * The HTTP calls the ops console makes, typed: the cluster overview, live rooms, failed
 * settlement jobs and failed webhook deliveries, and their replays. An ops token.
 */
import type { HttpChannel } from '../../../client-sdk/HttpChannel.js';

export interface OpsNode {
  nodeId: string;
  at: number;
  connections: number;
  rooms: number;
  messagesPerSecond: number;
  deliveriesPerSecond: number;
}

export interface OpsOverview {
  nodes: OpsNode[];
  /** null: commerce is off on the node that answered. */
  failedSettlementJobs: number | null;
  failedSettlementJobsByQueue: Record<string, number> | null;
  failedWebhookDeliveries: number | null;
}

export interface OpsRoom {
  roomId: string;
  viewers: number;
  viewersByNode: { nodeId: string; viewers: number }[];
  publishing: boolean;
  activeDealId: string | null;
}

export const QUEUES = ['settle', 'commission', 'refund'] as const;
export type QueueName = (typeof QUEUES)[number];

export interface FailedJob {
  queue: string;
  jobId: string;
  name: string;
  attemptsMade: number;
  failedReason: string;
  finishedOn: number | null;
  data: unknown;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  shopId?: string;
  url?: string;
  attempts?: number;
  replays?: number;
  lastStatusCode?: number | null;
  lastError?: string | null;
  lastAttemptAt?: string | null;
}

const path = encodeURIComponent;

export class OpsApi {
  readonly #http: HttpChannel;

  constructor(http: HttpChannel) {
    this.#http = http;
  }

  overview(): Promise<OpsOverview> {
    return this.#http.request<OpsOverview>('GET', '/v1/ops/overview');
  }

  async rooms(): Promise<OpsRoom[]> {
    return (await this.#http.request<{ rooms: OpsRoom[] }>('GET', '/v1/ops/rooms')).rooms;
  }

  async failedJobs(queue: QueueName): Promise<FailedJob[]> {
    return (await this.#http.request<{ jobs: FailedJob[] }>('GET', `/v1/ops/settlement/failed?queue=${queue}`)).jobs;
  }

  replayJob(queue: QueueName, jobId: string): Promise<void> {
    return this.#http.request<void>('POST', `/v1/ops/settlement/failed/${path(jobId)}/replay?queue=${queue}`);
  }

  async failedDeliveries(): Promise<WebhookDelivery[]> {
    return (await this.#http.request<{ deliveries: WebhookDelivery[] }>('GET', '/v1/ops/webhooks/deliveries?status=failed&limit=100')).deliveries;
  }

  replayDelivery(id: string): Promise<void> {
    return this.#http.request<void>('POST', `/v1/ops/webhooks/deliveries/${path(id)}/replay`);
  }
}

import { describe, expect, it } from 'vitest';
import { RedisConnections } from './RedisConnections.js';

describe('RedisConnections.parse', () => {
  it('reads one server', () => {
    expect(RedisConnections.parse('redis://127.0.0.1:6379')).toEqual({
      cluster: false, url: 'redis://127.0.0.1:6379', nodes: [{ host: '127.0.0.1', port: 6379 }], username: undefined, password: undefined, tls: false,
    });
    expect(RedisConnections.parse('rediss://:s%40cret@cache.example:6380/1')).toMatchObject({
      cluster: false, nodes: [{ host: 'cache.example', port: 6380 }], password: 's@cret', tls: true,
    });
    expect(RedisConnections.parse('redis://localhost').nodes).toEqual([{ host: 'localhost', port: 6379 }]);
  });

  it('reads a cluster: seed nodes, credentials, TLS', () => {
    expect(RedisConnections.parse('redis+cluster://h1:7001,h2:7002,[::1]:7003,h4')).toEqual({
      cluster: true,
      url: 'redis+cluster://h1:7001,h2:7002,[::1]:7003,h4',
      nodes: [{ host: 'h1', port: 7001 }, { host: 'h2', port: 7002 }, { host: '::1', port: 7003 }, { host: 'h4', port: 6379 }],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(RedisConnections.parse('rediss+cluster://app:p%3Aw@h1:7001')).toMatchObject({ cluster: true, username: 'app', password: 'p:w', tls: true });
    expect(RedisConnections.parse('redis+cluster://:pw@h1:7001')).toMatchObject({ username: undefined, password: 'pw' });
  });

  it('refuses what is not a Redis target, saying why', () => {
    expect(() => RedisConnections.parse('http://h:6379')).toThrow(TypeError);
    expect(() => RedisConnections.parse('h1:7001')).toThrow(/starts with redis:\/\//);
    expect(() => RedisConnections.parse('redis+cluster://')).toThrow(/no cluster nodes/);
    expect(() => RedisConnections.parse('redis+cluster://h1:7001/3')).toThrow(/nodes only/);
    expect(() => RedisConnections.parse('redis+cluster://h1:0')).toThrow(/host:port/);
    expect(() => RedisConnections.parse('redis+cluster://h 1:7001')).toThrow(/host:port/);
  });

  it('builds the cluster URL of a node list', () => {
    expect(RedisConnections.clusterUrl('127.0.0.1:7001,127.0.0.1:7002')).toBe('redis+cluster://127.0.0.1:7001,127.0.0.1:7002');
    expect(RedisConnections.isCluster(RedisConnections.clusterUrl('h:1'))).toBe(true);
    expect(RedisConnections.isCluster('redis://h:1')).toBe(false);
  });
});

using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Discovery;
using Akka.Hosting;
using Akka.Remote.Hosting;

namespace Pipeline.Host.Cluster;

/// <summary>
/// Akka.Remote (TCP) and Akka.Cluster through Akka.Cluster.Hosting: roles, seed nodes, the split-brain resolver
/// (keep-majority), failure detection and config-based Akka.Discovery.
/// </summary>
public static class ClusterSetup
{
    public static AkkaConfigurationBuilder WithPipelineCluster(this AkkaConfigurationBuilder ab, ClusterNodeOptions o)
    {
        ab.WithRemoting(new RemoteOptions { HostName = o.Host, Port = o.Port, MaxFrameSize = 32 * 1024 * 1024, SendBufferSize = 32 * 1024 * 1024, ReceiveBufferSize = 32 * 1024 * 1024 });
        ab.WithClustering(new ClusterOptions
        {
            Roles = o.Roles,
            SeedNodes = o.Discovery == "none" ? o.Seeds.Select(ClusterNodeOptions.AddressOf).ToArray() : null,
            SplitBrainResolver = new KeepMajorityOption(),
        });
        ab.AddHocon(Hocon(o), HoconAddMode.Prepend);
        if (o.ExtraHocon != null) ab.AddHocon(o.ExtraHocon, HoconAddMode.Prepend);
        return ab;
    }

    static string Hocon(ClusterNodeOptions o)
    {
        var endpoints = string.Join(", ", o.DiscoveryEndpoints.Select(e => $"\"{e}\""));
        return $$"""
            akka.cluster.failure-detector.acceptable-heartbeat-pause = {{(int)o.HeartbeatPause.TotalMilliseconds}}ms
            akka.cluster.split-brain-resolver.stable-after = {{(int)o.StableAfter.TotalMilliseconds}}ms
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.log-info = off
            # Tokens stream one message per step: flush each at once instead of batching writes for up to 40 ms.
            akka.remote.dot-netty.tcp.batching.enabled = false
            akka.discovery.method = {{(o.Discovery == "none" ? "config" : o.Discovery)}}
            akka.discovery.config.services.{{o.DiscoveryService}}.endpoints = [{{endpoints}}]
            """;
    }

    /// <summary>With --cluster-discovery: looks the service up and joins the nodes it names (in one order on every node, so the first forms the cluster).</summary>
    public static async Task JoinByDiscoveryAsync(ActorSystem system, ClusterNodeOptions o, ILogger logger)
    {
        if (o.Discovery == "none") return;
        var discovery = Discovery.Get(system).Default;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var resolved = await discovery.Lookup(new Lookup(o.DiscoveryService), TimeSpan.FromSeconds(10));
                var seeds = resolved.Addresses.Where(a => a.Port != null)
                    .Select(a => new Address("akka.tcp", ClusterNodeOptions.SystemName, a.Host, a.Port)).OrderBy(a => a.ToString(), StringComparer.Ordinal).ToList();
                if (seeds.Count > 0)
                {
                    logger.LogInformation("cluster: discovery ({Method}) found {Seeds}", o.Discovery, string.Join(", ", seeds));
                    Akka.Cluster.Cluster.Get(system).JoinSeedNodes(seeds);
                    return;
                }
            }
            catch (Exception e) when (attempt < 30) { logger.LogWarning("cluster: discovery lookup of '{Service}' failed ({Error}); retrying", o.DiscoveryService, e.Message); }
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }
}

using System.Globalization;
using Pipeline.Actors.Cluster;
using Pipeline.Host.Cli;

namespace Pipeline.Host.Cluster;

/// <summary>
/// `pipeline serve --cluster-role ...`: this process as a node of an Akka.Cluster (Akka.Remote over TCP). Like every
/// option these also come from PIPELINE_* variables (PIPELINE_CLUSTER_SEEDS) and the --config file.
/// </summary>
public sealed record ClusterNodeOptions(string Role, string Host, int Port, IReadOnlyList<string> Seeds, string Discovery, string DiscoveryService,
    IReadOnlyList<string> DiscoveryEndpoints, string? ExtraHocon, ClusterRouterSettings Router, TimeSpan StableAfter, TimeSpan HeartbeatPause)
{
    public const string SystemName = "pipeline";

    public static readonly OptionSpec[] Options =
    [
        new("cluster-role", "run as a node of an Akka.Cluster: front (HTTP and queue ingress, tokenization, detokenization, streams), worker (engine cores and GPU workers for --devices; serves HTTP only for /metrics and /health when --port is given) or both; unset: a single process", Metavar: "ROLE"),
        new("cluster-host", "address this node's Akka.Remote TCP endpoint binds to and is reached at", "127.0.0.1"),
        new("cluster-port", "this node's Akka.Remote TCP port", "2552"),
        new("cluster-seeds", "seed nodes to join, HOST:PORT[,HOST:PORT...] (list this node's own address first on the node that starts the cluster)", Metavar: "LIST"),
        new("cluster-discovery", "find the seed nodes with Akka.Discovery instead of --cluster-seeds: config (--cluster-discovery-endpoints), or a method configured in --cluster-hocon (kubernetes-api: docs/cluster.md)", "none", Metavar: "METHOD"),
        new("cluster-discovery-service", "the service name Akka.Discovery looks up", "pipeline"),
        new("cluster-discovery-endpoints", "config discovery: the service's HOST:PORT endpoints", Metavar: "LIST"),
        new("cluster-hocon", "a HOCON file merged into the actor system's configuration (discovery methods, failure detector, ...)", Metavar: "FILE"),
        new("cluster-routing", "front nodes: prefix-affinity (requests sharing leading prompt blocks go to the replica that cached them, unless it is overloaded) or least-load", "prefix-affinity"),
        new("cluster-balance-threshold", "front nodes: outstanding requests a prefix-affinity target may have beyond the least-loaded replica", "8"),
        new("cluster-no-worker-timeout", "front nodes: seconds a request waits for a worker that can take it before it fails explicitly", "30"),
        new("cluster-heartbeat-pause", "seconds of missed heartbeats before a node is unreachable (its requests then resume on other workers)", "3"),
        new("cluster-down-after", "seconds a node stays unreachable before the split-brain resolver (keep-majority) downs it (stable-after)", "10"),
    ];

    public bool IsFront => Role is "front" or "both";
    public bool IsWorker => Role is "worker" or "both";
    public string[] Roles => Role == "both" ? ["front", "worker"] : [Role];
    public string SelfAddress => $"akka.tcp://{SystemName}@{Host}:{Port}";

    /// <summary>Null without --cluster-role.</summary>
    public static ClusterNodeOptions? From(ParsedArgs args)
    {
        if (args.Get("cluster-role") is not { Length: > 0 } role) return null;
        role = args.Choice("cluster-role", "front", "worker", "both");
        var seeds = List(args.Get("cluster-seeds"));
        foreach (var s in seeds) Endpoint("cluster-seeds", s);
        var discovery = args.Get("cluster-discovery")!;
        var endpoints = List(args.Get("cluster-discovery-endpoints"));
        foreach (var s in endpoints) Endpoint("cluster-discovery-endpoints", s);
        if (discovery == "config" && endpoints.Count == 0) throw new CliException("--cluster-discovery config needs --cluster-discovery-endpoints HOST:PORT[,...]");
        if (discovery == "none" && seeds.Count == 0)
            throw new CliException("--cluster-role needs --cluster-seeds HOST:PORT[,...] (or --cluster-discovery config|kubernetes-api)");
        var hocon = args.Get("cluster-hocon");
        if (hocon != null && !File.Exists(hocon)) throw new CliException($"--cluster-hocon: no such file '{hocon}'");
        var routing = args.Choice("cluster-routing", "prefix-affinity", "least-load");
        return new ClusterNodeOptions(role, args.Get("cluster-host")!, ParsePort(args), seeds, discovery, args.Get("cluster-discovery-service")!, endpoints,
            hocon == null ? null : File.ReadAllText(hocon),
            new ClusterRouterSettings
            {
                Policy = routing == "least-load" ? ClusterRoutingPolicy.LeastLoad : ClusterRoutingPolicy.PrefixAffinity,
                BalanceThreshold = Math.Max(0, args.Int("cluster-balance-threshold")),
                NoWorkerTimeout = Seconds(args, "cluster-no-worker-timeout"),
            },
            Seconds(args, "cluster-down-after"), Seconds(args, "cluster-heartbeat-pause"));
    }

    static int ParsePort(ParsedArgs args)
    {
        int p = args.Int("cluster-port");
        return p is > 0 and < 65536 ? p : throw new CliException($"--cluster-port must be in 1..65535, got {p}");
    }

    static TimeSpan Seconds(ParsedArgs args, string name)
    {
        var v = args.GetFloat(name) ?? 0;
        return v > 0 ? TimeSpan.FromSeconds(v) : throw new CliException($"--{name} must be a positive number of seconds, got {v}");
    }

    static List<string> List(string? s) => (s ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    /// <summary>HOST:PORT, with a clear error naming the option.</summary>
    public static (string Host, int Port) Endpoint(string option, string s)
    {
        int colon = s.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is <= 0 or > 65535)
            throw new CliException($"--{option}: '{s}' is not HOST:PORT");
        return (s[..colon], port);
    }

    public static string AddressOf(string hostPort)
    {
        var (h, p) = Endpoint("cluster-seeds", hostPort);
        return $"akka.tcp://{SystemName}@{h}:{p}";
    }
}

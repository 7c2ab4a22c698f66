using System.Text;
using System.Text.Json;
using Pipeline.Actors.Cluster;
using Pipeline.Host.Cli;
using Pipeline.Host.Cluster;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline cluster status`: a front node's view of the cluster (its GET /cluster/status).</summary>
public static class ClusterCommand
{
    public static readonly CommandSpec StatusSpec = new("cluster status", "Show a front node's cluster: members, worker replicas and their load.", [],
    [
        new("url", "the front node's HTTP address", "http://127.0.0.1:8000"),
        new("output", "text or json", "text"),
    ]);

    public static async Task<int> StatusAsync(ParsedArgs args)
    {
        var url = args.Get("url")!.TrimEnd('/') + "/cluster/status";
        var output = args.Choice("output", "text", "json");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        string body;
        try
        {
            using var r = await http.GetAsync(url);
            body = await r.Content.ReadAsStringAsync();
            if (!r.IsSuccessStatusCode) { Console.Error.WriteLine($"error: {url} answered {(int)r.StatusCode}: {body}"); return 1; }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"error: cannot reach {url} ({e.Message}); is a front node (--cluster-role front|both) listening there?");
            return 1;
        }
        if (output == "json") { Console.WriteLine(body); return 0; }
        var s = JsonSerializer.Deserialize<ClusterStatus>(body, ClusterEndpoints.Json)!;
        Console.Write(Format(s));
        return 0;
    }

    public static string Format(ClusterStatus s)
    {
        var b = new StringBuilder();
        b.AppendLine($"front {s.Self} (roles {string.Join(",", s.Roles)}), routing {s.Policy}");
        b.AppendLine($"requests: {s.InFlight} in flight, {s.WaitingForReplica} waiting for a replica; routed {s.Routed}, prefix-affinity hits {s.AffinityHits}, resumed {s.Resumed}, failed for lack of a worker {s.FailedNoWorker}");
        b.AppendLine("members:");
        foreach (var m in s.Members) b.AppendLine($"  {m.Address,-40} {m.Status,-8} {string.Join(",", m.Roles),-14} {(m.Reachable ? "reachable" : "UNREACHABLE")}");
        b.AppendLine("replicas:");
        foreach (var r in s.Replicas)
        {
            var e = r.Engine;
            var engine = e == null ? "no answer" : $"running {e.Running}, waiting {e.Waiting}, kv {e.KvCacheUsage:P0}, prefix hits {e.PrefixCacheHits}/{e.PrefixCacheQueries} tokens";
            b.AppendLine($"  {r.Key,-50} {r.Device,-8} outstanding {r.Outstanding}/{r.Capacity}{(r.Draining ? " DRAINING" : "")}; dispatched {r.Dispatched} (affinity {r.AffinityHits}); {engine}");
        }
        return b.ToString();
    }
}

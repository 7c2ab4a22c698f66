using System.Net;
using System.Net.Http.Json;

namespace Pipeline.Host.Tests.Cluster;

/// <summary>A front node with no worker: a request waits for one, then ends with an explicit error (503), not silently.</summary>
public class NoWorkerTests
{
    [Fact]
    public async Task ARequestNoWorkerCanTakeEndsWith503NamingIt()
    {
        int port = ClusterNode.FreePort(), clusterPort = ClusterNode.FreePort();
        await using var front = ClusterNode.Start("lonely-front", "front", clusterPort, $"127.0.0.1:{clusterPort}", "--port", port.ToString(), "--queue", "off",
            "--cluster-no-worker-timeout", "1");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            try { if ((await http.GetAsync($"http://127.0.0.1:{port}/health")).IsSuccessStatusCode) break; }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { }
            Assert.False(front.HasExited, string.Join("\n", front.Output));
            await Task.Delay(200);
        }
        using var r = await http.PostAsJsonAsync($"http://127.0.0.1:{port}/v1/completions", new { prompt = "The Congress has", max_tokens = 4 });
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("no worker can take request", body);
    }
}

using System.Text.Json;
using Pipeline.Actors.Cluster;
using Pipeline.Host.Http;
using Pipeline.Streams;

namespace Pipeline.Host.Cluster;

/// <summary>GET /cluster/status on a front node: members, worker replicas and their load (what `pipeline cluster status` prints).</summary>
public static class ClusterEndpoints
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public static void Map(WebApplication app, Func<PipelineEngine?> engine)
    {
        app.MapGet("/cluster/status", async http =>
        {
            var e = engine() ?? throw new ApiError(503, "the engine is still starting");
            var status = await e.AskAdmissionAsync<ClusterStatus>(new GetClusterStatus(), TimeSpan.FromSeconds(10));
            http.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(http.Response.Body, status, Json, http.RequestAborted);
        });
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Protocol;
using Pipeline.Host.Tests.Queue;
using Pipeline.Streams.Queue;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Fuzz;

/// <summary>
/// Generated request messages, as raw bytes, straight onto the request queue of the queue service (in-process transport,
/// tiny fixture model): one field of a valid message (every field of the queue envelope and of a completion request)
/// set to a hostile value, unknown fields, bodies that are not JSON, not an object, cut off, or not UTF-8. Every message
/// is settled (run to its final, or dead-lettered with a reason that names the broken field), nothing throws out of the
/// service, and at the end nothing runs and no KV block is in use.
/// </summary>
public class QueueFuzzTests(ITestOutputHelper output)
{
    static int Env(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    static readonly IReadOnlyList<string> Fields =
        ProtocolJson.Default.QueueEnvelope.Properties.Concat(ProtocolJson.Default.CompletionRequest.Properties)
            .Where(p => !p.IsExtensionData).Select(p => p.Name).Distinct().ToList();

    [Fact]
    public async Task GeneratedMessages_AreRunOrDeadLetteredNamingTheField_NothingLeaks()
    {
        int seed = Env("PIPELINE_FUZZ_SEED", 20261129), count = Env("PIPELINE_FUZZ_COUNT", 3000) / 2;
        var random = new Random(seed);
        var json = new HostileJson(random);
        await using var h = new InProcessQueueHarness(prefetch: 64);
        var expectedField = new Dictionary<string, string>(); // message id -> the field a dead-letter reason must name
        for (int i = 0; i < count; i++)
        {
            var id = $"qf-{i}";
            var basis = new JsonObject { ["request_id"] = id, ["prompt"] = new JsonArray(5, 6, 7), ["max_tokens"] = 2 };
            var o = new MemoryStream();
            int roll = random.Next(100);
            if (roll < 70)
            {
                var field = Fields[random.Next(Fields.Count)];
                Write(o, basis, field, () => json.Value(o));
                if (field != "request_id") expectedField[id] = field;
            }
            else if (roll < 78) Write(o, basis, "x_" + random.Next(100), () => json.Value(o));
            else if (roll < 86) Write(o, basis, Fields[random.Next(Fields.Count)], () => json.Broken(o));
            else if (roll < 92) json.Value(o, 2);
            else
            {
                Write(o, basis, "prompt", () => json.Value(o));
                o.SetLength(random.Next((int)o.Length));
            }
            await h.Transport.PublishRequestAsync(o.ToArray(), new QueueProperties { MessageId = random.Next(4) == 0 ? null : id }, default);
        }
        await h.Drained(TimeSpan.FromMinutes(3));

        var service = h.Service;
        output.WriteLine($"seed {seed}: {count} messages; completed {service.Completed}, dead-lettered {service.DeadLettered}, duplicates {service.DuplicatesSkipped}, joined {service.JoinedRunning}");
        Assert.Equal(count, service.Completed + service.DeadLettered + service.DuplicatesSkipped + service.JoinedRunning);
        Assert.True(service.Completed > 0 && service.DeadLettered > 0);

        var problems = new List<string>();
        while (await h.Transport.GetAsync(h.Transport.Topology.DeadLetterQueue, default) is { } dead)
        {
            var reason = dead.Properties.Headers![QueueHeaders.Error];
            if (string.IsNullOrWhiteSpace(reason)) problems.Add("an empty dead-letter reason");
            if (reason.StartsWith("the message could not be read", StringComparison.Ordinal) && !reason.Contains("JSON"))
                problems.Add($"an unexpected exception: {reason}");
            var id = dead.Properties.MessageId;
            if (id != null && expectedField.TryGetValue(id, out var field) && !reason.Contains(field, StringComparison.Ordinal)
                && !(field.StartsWith("guided_", StringComparison.Ordinal) && reason.Contains("structured_outputs", StringComparison.Ordinal)))
                problems.Add($"{id}: '{reason}' does not name {field}: {Encoding.UTF8.GetString(dead.Body.Span[..Math.Min(dead.Body.Length, 200)])}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(15)));

        var stats = await h.Engine.GetStatsAsync();
        Assert.Equal(0, stats.Sum(s => s.Scheduler.NumRunningReqs + s.Scheduler.NumWaitingReqs));
        Assert.Equal(0, stats.Sum(s => s.Scheduler.KvCacheUsage));
    }

    static void Write(MemoryStream o, JsonObject basis, string field, Action value)
    {
        HostileJson.Write(o, "{");
        foreach (var (k, v) in basis)
            if (k != field) HostileJson.Write(o, JsonSerializer.Serialize(k) + ":" + v!.ToJsonString() + ",");
        HostileJson.Write(o, JsonSerializer.Serialize(field) + ":");
        value();
        HostileJson.Write(o, "}");
    }
}

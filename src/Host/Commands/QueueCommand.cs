using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Cli;
using Pipeline.Host.Queue;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline queue publish` puts one request message on the queue (optionally following its events) and
/// `pipeline queue follow ID` prints a request's events as they arrive: through a broker (amqp://) or a server (http://).
/// </summary>
public static class QueueCommand
{
    static readonly OptionSpec[] Connection =
    [
        new("queue", "amqp://user:pass@host:5672/vhost (the broker) or http://host:port (a server, e.g. its in-process queue)", "http://127.0.0.1:8000", Metavar: "URL"),
        new("api-key", "the server's API key (http:// only)"),
        new("output", "text (the generated text, then a summary line) or json (one event per line)", "text"),
        new("wait", "seconds to wait for a request's stream to start (http:// only)", "60"),
        new("connect-timeout", "seconds to wait for the broker or server before giving up", "30"),
        .. QueueOptions.Topology,
    ];

    public static readonly CommandSpec PublishSpec = new("queue publish", "Publish a request message to the queue service (and follow it with --follow).", [],
    [
        new("prompt", "prompt text"),
        new("prompt-ids", "prompt as comma-separated token ids", Metavar: "1,2,3"),
        new("messages", "chat messages: a JSON file holding a list of {role, content}", Metavar: "FILE.json"),
        new("audio", "audio to transcribe or translate (a speech model; WAV, FLAC, MP3, Ogg Vorbis), sent as base64", Metavar: "FILE"),
        new("language", "with --audio: the spoken language (detected when absent)"),
        new("task", "with --audio: transcribe or translate", "transcribe"),
        new("response-format", "with --audio: json, text, verbose_json, srt or vtt (the final's `response`)"),
        new("id", "request id (default: a new random one)"),
        new("model", "served model name (default: whatever the server serves)"),
        new("max-tokens", "most tokens to generate (default 16)"),
        new("temperature", "sampling temperature (0 = greedy; default: the model's generation config, else 1)"),
        new("top-p", "nucleus sampling"),
        new("seed", "sampling seed"),
        new("ignore-eos", "keep generating past EOS", IsFlag: true),
        new("reply-to", "also publish the events to this queue (amqp:// only)"),
        new("follow", "print the request's events until it finishes", IsFlag: true),
        .. Connection,
    ]);

    public static readonly CommandSpec FollowSpec = new("queue follow", "Print a request's token events as they arrive.", ["ID"], Connection);

    public static async Task<int> PublishAsync(ParsedArgs a)
    {
        var output = a.Choice("output", "text", "json");
        var body = new JsonObject { ["request_id"] = a.Get("id") ?? Guid.NewGuid().ToString("N") };
        var id = (string)body["request_id"]!;
        int given = (a.Get("prompt") != null ? 1 : 0) + (a.Get("prompt-ids") != null ? 1 : 0) + (a.Get("messages") != null ? 1 : 0) + (a.Get("audio") != null ? 1 : 0);
        if (given != 1) throw new CliException("give exactly one of --prompt, --prompt-ids, --messages and --audio");
        bool audio = a.Get("audio") != null;
        if (audio && a.Flag("ignore-eos")) throw new CliException("--ignore-eos does not apply to --audio");
        if (!audio && (a.Get("language") ?? a.Get("response-format")) != null) throw new CliException("--language and --response-format go with --audio");
        if (a.Get("audio") is string audioFile)
        {
            if (!File.Exists(audioFile)) throw new CliException($"--audio: no such file '{audioFile}'");
            body["file"] = Convert.ToBase64String(File.ReadAllBytes(audioFile));
            body["task"] = a.Choice("task", "transcribe", "translate");
            if (a.Get("language") is string lang) body["language"] = lang;
            if (a.Get("response-format") is string rf) body["response_format"] = rf;
        }
        if (a.Get("prompt") is string p) body["prompt"] = p;
        if (a.Get("prompt-ids") is string ids) body["prompt"] = new JsonArray(ParseIds(ids).Select(i => (JsonNode)i).ToArray());
        if (a.Get("messages") is string file)
        {
            if (!File.Exists(file)) throw new CliException($"--messages: no such file '{file}'");
            try { body["messages"] = JsonNode.Parse(File.ReadAllText(file)); }
            catch (JsonException e) { throw new CliException($"--messages {file}: not valid JSON ({e.Message})"); }
        }
        if (a.Get("model") is string m) body["model"] = m;
        if (a.GetInt("max-tokens") is int mt) body[audio ? "max_completion_tokens" : "max_tokens"] = mt;
        if (a.GetFloat("temperature") is float t) body["temperature"] = t;
        if (a.GetFloat("top-p") is float tp) body["top_p"] = tp;
        if (a.GetLong("seed") is long s) body["seed"] = s;
        if (a.Flag("ignore-eos")) body["ignore_eos"] = true;
        if (a.Get("reply-to") is string r) body["reply_to"] = r;

        await using var client = QueueClient.Create(a.Get("queue")!, QueueOptions.ToTopology(a), a.Get("api-key"));
        using var cts = CancelOnCtrlC();
        IAsyncEnumerable<QueueEvent>? events = null;
        await WithinConnectTimeout(a, async ct =>
        {
            // Subscribe before publishing, so not even the first event is missed.
            if (a.Flag("follow")) events = await client.FollowAsync(id, Wait(a), cts.Token);
            await client.PublishAsync(id, JsonSerializer.SerializeToUtf8Bytes(body), ct);
        }, cts.Token);
        if (events == null)
        {
            Console.WriteLine(id);
            return 0;
        }
        return await Print(events, output, cts.Token);
    }

    public static async Task<int> FollowAsync(ParsedArgs a)
    {
        if (a.Positionals.Count == 0) throw new CliException("queue follow needs the request id: pipeline queue follow ID");
        var output = a.Choice("output", "text", "json");
        await using var client = QueueClient.Create(a.Get("queue")!, QueueOptions.ToTopology(a), a.Get("api-key"));
        using var cts = CancelOnCtrlC();
        IAsyncEnumerable<QueueEvent>? events = null;
        await WithinConnectTimeout(a, async _ => events = await client.FollowAsync(a.Positionals[0], Wait(a), cts.Token), cts.Token);
        return await Print(FollowNotice.Announce(events!, a.Positionals[0], Wait(a)), output, cts.Token);
    }

    /// <summary>Reaching the broker or server: a clear error instead of waiting forever when it is not there.</summary>
    static async Task WithinConnectTimeout(ParsedArgs a, Func<CancellationToken, Task> step, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(a.GetFloat("connect-timeout") ?? 30));
        var work = step(limit.Token);
        try { await work.WaitAsync(limit.Token); }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new InvalidOperationException($"could not reach {Redacted(a.Get("queue")!)} within {a.Get("connect-timeout")} s. {ReachHint}");
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"could not reach {Redacted(a.Get("queue")!)}: {e.Message}. {ReachHint}");
        }
    }

    /// <summary>What to check when neither a server nor a broker answers at --queue.</summary>
    public const string ReachHint =
        "Is a server running there? Start one with `pipeline serve` (its in-process queue), or point --queue at it: " +
        "--queue http://HOST:PORT for a server, --queue amqp://user:pass@host:5672/vhost for a RabbitMQ broker.";

    static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo.Length > 0 ? url.Replace(u.UserInfo + "@", "") : url;

    static TimeSpan Wait(ParsedArgs a) => TimeSpan.FromSeconds(a.GetFloat("wait") ?? 60);

    static async Task<int> Print(IAsyncEnumerable<QueueEvent> events, string output, CancellationToken ct)
    {
        int exit = 1;
        await foreach (var e in events.WithCancellation(ct))
        {
            if (output == "json") Console.WriteLine(e.Json.GetRawText());
            else if (e.Type == QueueEvents.Delta) Console.Write(e.Text);
            else if (e.Type == QueueEvents.Final)
            {
                var usage = e.Json.GetProperty("usage");
                var reasons = string.Join(",", e.Json.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("finish_reason").GetString()));
                Console.WriteLine($"\n[{e.RequestId}: finish_reason={reasons}, prompt_tokens={usage.GetProperty("prompt_tokens")}, completion_tokens={usage.GetProperty("completion_tokens")}]");
            }
            else Console.Error.WriteLine($"error: {e.Json.GetProperty("error").GetProperty("message").GetString()}");
            Console.Out.Flush();
            if (e.IsTerminal) exit = e.Type == QueueEvents.Final ? 0 : 1;
        }
        return exit;
    }

    static CancellationTokenSource CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        return cts;
    }

    static int[] ParseIds(string s)
    {
        try { return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray(); }
        catch (FormatException) { throw new CliException($"--prompt-ids must be comma-separated integers, got '{s}'"); }
    }
}

using System.Collections.Concurrent;
using System.Text;
using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;
using Pipeline.Models.Sampling;
using Pipeline.Streams;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Queue;

/// <summary>
/// The message-queue service mode: consumes request messages (manual ack, prefetch = back-pressure), runs each through
/// the engine, publishes its token events, and acknowledges the message only after its final event is confirmed
/// (at-least-once). A request id is run once: a redelivered copy of a running request joins it, one of a finished
/// request is acknowledged without running again. Invalid messages go to the dead-letter queue with the reason. With a
/// <see cref="RequestStateStore"/> the finished ids and final events survive a restart: the final is stored before it is
/// published, so a copy redelivered after a crash is acknowledged without running and its stored final published again.
/// </summary>
public sealed class QueueService(IQueueTransport transport, ServerContext server, StreamHub hub, Action<string>? log = null, int finishedCapacity = 100_000,
    RequestStateStore? store = null)
{
    /// <summary>A request being run, and every delivery of it that arrived meanwhile (all acknowledged at the end).</summary>
    sealed class Running
    {
        public readonly List<QueueDelivery> Deliveries = new();
    }

    readonly object _gate = new();
    readonly Dictionary<string, Running> _running = new();
    readonly FinishedRequests _finished = new(finishedCapacity);
    readonly ConcurrentDictionary<Task, byte> _handlers = new();
    readonly CancellationTokenSource _stopConsuming = new();
    readonly Action<string> _log = log ?? (_ => { });
    Task? _consumer;
    long _executions, _duplicates, _deadLettered, _completed, _joined;

    public IQueueTransport Transport => transport;
    public StreamHub Hub => hub;
    /// <summary>Requests started on the engine (a request id counts once unless it ran again after failing).</summary>
    public long Executions => Interlocked.Read(ref _executions);
    /// <summary>Deliveries of an already finished request id that were acknowledged without running.</summary>
    public long DuplicatesSkipped => Interlocked.Read(ref _duplicates);
    /// <summary>Deliveries of a request id that was still running (redelivered after a lost connection), joined to that run.</summary>
    public long JoinedRunning => Interlocked.Read(ref _joined);
    public long DeadLettered => Interlocked.Read(ref _deadLettered);
    public long Completed => Interlocked.Read(ref _completed);
    /// <summary>Called with the request id each time a request starts on the engine (tests count executions with it).</summary>
    public Action<string>? OnExecute { get; set; }

    public void Start() => _consumer = Task.Run(ConsumeAsync);

    async Task ConsumeAsync()
    {
        try
        {
            await foreach (var d in transport.ConsumeAsync(_stopConsuming.Token).ConfigureAwait(false))
            {
                var t = Task.Run(() => HandleAsync(d));
                _handlers[t] = 0;
                _ = t.ContinueWith(done => _handlers.TryRemove(done, out _), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (_stopConsuming.IsCancellationRequested) { }
    }

    async Task HandleAsync(QueueDelivery d)
    {
        QueueRequest req;
        try { req = QueueRequestParser.Parse(d.Message, server); }
        catch (Exception e)
        {
            var (reason, id) = e is PoisonMessageException p ? (p.Message, p.RequestId) : ($"the message could not be read: {e.Message}", null);
            await RejectAsync(d, reason, id, d.Message.Properties.ReplyTo, d.Message.Properties.CorrelationId).ConfigureAwait(false);
            return;
        }
        Running? run = null;
        bool finishedEarlier = false;
        lock (_gate)
        {
            if (_running.TryGetValue(req.RequestId, out var existing))
            {
                existing.Deliveries.Add(d);
                Interlocked.Increment(ref _joined);
                return;
            }
            if (_finished.Contains(req.RequestId)) { }
            else if (store?.IsFinished(req.RequestId) == true) finishedEarlier = true;
            else _running[req.RequestId] = run = new Running { Deliveries = { d } };
        }
        if (run == null)
        {
            // Finished in an earlier life: its final may not have gone out before the crash, so it goes out again.
            if (finishedEarlier && store!.Stored(req.RequestId) is { Count: > 0 } stored)
                await RequestEventPublisher.RepublishAsync(transport, hub, req.RequestId, req.ReplyTo, req.CorrelationId, stored.TakeLast(1).ToList(), default).ConfigureAwait(false);
            Interlocked.Increment(ref _duplicates);
            await d.AckAsync().ConfigureAwait(false);
            return;
        }
        try { await RunAsync(req, run).ConfigureAwait(false); }
        catch (Exception e)
        {
            _log($"queue request {req.RequestId} failed unexpectedly; it goes back to the queue: {e}");
            List<QueueDelivery> deliveries;
            lock (_gate)
            {
                if (_running.GetValueOrDefault(req.RequestId) != run) return;
                _running.Remove(req.RequestId);
                deliveries = run.Deliveries.ToList();
            }
            foreach (var x in deliveries) await x.NackAsync(requeue: true).ConfigureAwait(false);
        }
    }

    async Task RunAsync(QueueRequest req, Running run)
    {
        Interlocked.Increment(ref _executions);
        OnExecute?.Invoke(req.RequestId);
        var events = new RequestEventPublisher(transport, hub, req.RequestId, req.ReplyTo, req.CorrelationId, keep: store != null);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = req.Speech != null ? await QueueSpeechRun.RunAsync(req, req.Speech, server, events).ConfigureAwait(false)
            : await GenerateAsync(req, events, clock).ConfigureAwait(false);

        if (outcome.Aborted)
        {
            // Overloaded or shutting down: not this message's fault; the broker gives it to us or another instance again.
            foreach (var d in Release(req.RequestId, finished: false)) await d.NackAsync(requeue: true).ConfigureAwait(false);
            return;
        }
        if (outcome.Error != null)
        {
            var deliveries = Release(req.RequestId, finished: false);
            await RejectAsync(deliveries[0], outcome.Error, req.RequestId, req.ReplyTo, req.CorrelationId, outcome.Status, events).ConfigureAwait(false);
            foreach (var d in deliveries.Skip(1)) await d.AckAsync().ConfigureAwait(false);
            return;
        }

        var final = events.Build(outcome.Final!, QueueEvents.Final);
        // Durable before it is published: a crash after this point never runs the request again (the copy republishes it).
        store?.MarkFinished(req.RequestId, events.Kept);
        await events.SendAsync(final, default).ConfigureAwait(false);
        if (!outcome.Counted)
            server.Metrics.RequestFinished(outcome.PromptTokens, outcome.CompletionTokens, outcome.FinishReason, clock.Elapsed.TotalSeconds, outcome.Ttft, []);
        Interlocked.Increment(ref _completed);
        foreach (var d in Release(req.RequestId, finished: true)) await d.AckAsync().ConfigureAwait(false);
    }

    /// <summary>A completion or chat request on the engine: a delta event per output, then the final's content.</summary>
    async Task<QueueOutcome> GenerateAsync(QueueRequest req, RequestEventPublisher events, System.Diagnostics.Stopwatch clock)
    {
        var texts = new SortedDictionary<int, StringBuilder>();
        var tokens = new SortedDictionary<int, List<int>>();
        var finals = new Dictionary<int, CompletionOutput>();
        var parsers = new Dictionary<int, ChatOutputParser>();
        int promptTokens = 0;
        double? ttft = null;
        try
        {
            await foreach (var o in server.Engine.GenerateAsync(req.Prompt, req.SamplingParams, "queue-" + req.RequestId, req.Priority, lora: req.Lora, everyStep: true).ConfigureAwait(false))
            {
                promptTokens = o.PromptTokenIds.Count;
                foreach (var c in o.Outputs)
                {
                    (texts.TryGetValue(c.Index, out var sb) ? sb : texts[c.Index] = new StringBuilder()).Append(c.Text);
                    (tokens.TryGetValue(c.Index, out var ids) ? ids : tokens[c.Index] = new List<int>()).AddRange(c.TokenIds);
                    if (c.Finished) finals[c.Index] = c;
                    if (c.TokenIds.Count > 0) ttft ??= clock.Elapsed.TotalSeconds;
                    ChatDelta? parsed = null;
                    if (req.Parsing is { } parsing)
                    {
                        if (!parsers.TryGetValue(c.Index, out var parser)) parsers[c.Index] = parser = parsing.NewParser();
                        if (parser.IsActive) parsed = ParsedDelta(parser.Append(c.Text, c.Finished), parser);
                    }
                    if (c.Text.Length > 0 || c.TokenIds.Count > 0 || parsed != null)
                        await events.PublishAsync(seq => QueueEvents.WriteDelta(req.RequestId, seq, c.Index, c.Text, c.TokenIds, parsed), QueueEvents.Delta, default).ConfigureAwait(false);
                }
            }
            if (finals.Values.Any(c => c.FinishReason == "abort") && !server.Engine.Accepting) return QueueOutcome.Abort;
        }
        catch (SamplingParamsException e) { return QueueOutcome.Failed(e.Field == null ? e.Message : $"{e.Message} (field {e.Field})"); }
        catch (ArgumentException e) { return QueueOutcome.Failed(e.Message); }
        catch (PipelineStageException e) { return QueueOutcome.Failed(e.Message, 500); }
        catch (EngineOverloadedException) { await Task.Delay(100).ConfigureAwait(false); return QueueOutcome.Abort; }
        catch (EngineShuttingDownException) { return QueueOutcome.Abort; }

        var choices = texts.Keys.Select(i => Choice(req, i, texts[i].ToString(), tokens[i], finals.GetValueOrDefault(i))).ToList();
        int completion = choices.Sum(c => c.TokenIds.Count);
        return new QueueOutcome(seq => QueueEvents.WriteFinal(req.RequestId, seq, server.ServedModelName, choices, promptTokens, completion),
            promptTokens, completion, choices.LastOrDefault()?.FinishReason ?? "stop", ttft);
    }

    /// <summary>A choice of the final event; a chat request with parsers gets its message (reasoning, content, tool calls) and finish_reason "tool_calls" after calls.</summary>
    static QueueEvents.Choice Choice(QueueRequest req, int index, string text, IReadOnlyList<int> tokenIds, CompletionOutput? final)
    {
        var reason = final != null ? final.FinishReason : "abort";
        var parser = req.Parsing?.NewParser();
        if (parser is not { IsActive: true }) return new(index, text, tokenIds, reason, final?.StopReason);
        var (reasoning, content, calls) = parser.Parse(text);
        var message = new ChatResponseMessage
        {
            Content = content,
            ReasoningContent = reasoning,
            ToolCalls = calls.Select(t => new ToolCall(t.Id, new FunctionCall(t.Name, t.Arguments))).ToList(),
        };
        return new(index, text, tokenIds, req.Parsing!.FinishReason(reason, calls.Count > 0), final?.StopReason, message);
    }

    /// <summary>A delta event's parsed part: new reasoning, new content, and each call found (whole: id, name and arguments).</summary>
    static ChatDelta? ParsedDelta(ChatOutputDelta d, ChatOutputParser parser)
    {
        if (d.IsEmpty) return null;
        return new ChatDelta
        {
            ReasoningContent = d.Reasoning.Length > 0 ? d.Reasoning : null,
            Content = d.Content.Length > 0 ? d.Content : null,
            ToolCalls = d.Calls.Count == 0 ? null : d.Calls.Select(c => new DeltaToolCall
            {
                Index = IndexOf(parser.Calls, c), Id = c.Id, Type = "function",
                Function = new DeltaFunctionCall { Name = c.Name, Arguments = c.Arguments },
            }).ToList(),
        };
    }

    static int IndexOf(IReadOnlyList<IdentifiedToolCall> calls, IdentifiedToolCall call)
    {
        for (int i = 0; i < calls.Count; i++) if (ReferenceEquals(calls[i], call)) return i;
        return -1;
    }

    /// <summary>Ends a running request's bookkeeping and returns the deliveries to settle.</summary>
    List<QueueDelivery> Release(string requestId, bool finished)
    {
        lock (_gate)
        {
            var run = _running[requestId];
            _running.Remove(requestId);
            if (finished) _finished.Add(requestId);
            return run.Deliveries.ToList();
        }
    }

    /// <summary>An invalid request: an error event to its followers (when it has an id), then the dead-letter queue with the reason.</summary>
    async Task RejectAsync(QueueDelivery d, string reason, string? requestId, string? replyTo, string? correlationId, int status = 400, RequestEventPublisher? events = null)
    {
        if (requestId != null)
        {
            events ??= new RequestEventPublisher(transport, hub, requestId, replyTo, correlationId);
            await events.PublishAsync(s => QueueEvents.WriteError(requestId, s, status, reason), QueueEvents.Error, default).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _deadLettered);
        _log($"dead-lettered a request message{(requestId == null ? "" : $" ({requestId})")}: {reason}");
        await d.DeadLetterAsync(reason).ConfigureAwait(false);
    }

    /// <summary>The service's counters in Prometheus text format, for /metrics.</summary>
    public string MetricsText()
    {
        var sb = new StringBuilder();
        var model = server.ServedModelName.Replace("\\", "\\\\").Replace("\"", "\\\"");
        void Counter(string name, string help, long value) =>
            sb.Append($"# HELP {name} {help}\n# TYPE {name} counter\n{name}{{model_name=\"{model}\"}} {value}\n");
        Counter("pipeline:queue_requests_executed_total", "Queue requests started on the engine.", Executions);
        Counter("pipeline:queue_requests_completed_total", "Queue requests whose final event was published and acknowledged.", Completed);
        Counter("pipeline:queue_duplicates_skipped_total", "Redelivered messages of finished request ids, acknowledged without running.", DuplicatesSkipped);
        Counter("pipeline:queue_dead_lettered_total", "Request messages sent to the dead-letter queue.", DeadLettered);
        return sb.ToString();
    }

    /// <summary>Stops taking messages; those already taken run on (the engine's shutdown decides how long).</summary>
    public void StopConsuming() => _stopConsuming.Cancel();

    /// <summary>Stops consuming and waits up to <paramref name="timeout"/> for the requests taken to be settled.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        StopConsuming();
        if (_consumer != null) await _consumer.ConfigureAwait(false);
        await Task.WhenAll(_handlers.Keys).WaitAsync(timeout).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }
}

using Pipeline.Streams;

namespace Pipeline.Host.Http;

/// <summary>
/// vLLM's Prometheus metrics, same names and label (model_name), so existing dashboards work unchanged. Gauges
/// and scheduler counters are read from the engine at scrape time; request counters and latencies are recorded
/// as requests finish.
/// </summary>
public sealed class ServingMetrics
{
    readonly string _model;
    readonly PrometheusText.Value _running, _waiting, _kvUsage, _promptTokens, _generationTokens, _success, _preemptions, _prefixQueries, _prefixHits, _healthy, _stepTimeouts, _workerRestarts, _nativeHeap, _stageRestarts, _liveTensors;
    readonly PrometheusText.Value _loraInfo;
    readonly int? _maxLoras;
    readonly PrometheusText.Histogram _ttft, _itl, _e2e, _promptHist, _genHist;

    public PrometheusText Registry { get; } = new();

    /// <param name="maxLoras">--max-loras with --enable-lora: then vllm:lora_requests_info is reported.</param>
    public ServingMetrics(string modelName, int? maxLoras = null)
    {
        _model = modelName;
        _maxLoras = maxLoras;
        var r = Registry;
        _loraInfo = r.Gauge("vllm:lora_requests_info", "Running stats on lora requests.", "max_lora", "waiting_lora_adapters", "running_lora_adapters");
        _running = r.Gauge("vllm:num_requests_running", "Number of requests in model execution batches.", "model_name");
        _waiting = r.Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", "model_name");
        _kvUsage = r.Gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", "model_name");
        _promptTokens = r.Counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", "model_name");
        _generationTokens = r.Counter("vllm:generation_tokens_total", "Number of generation tokens processed.", "model_name");
        _success = r.Counter("vllm:request_success_total", "Count of successfully processed requests.", "model_name", "finished_reason");
        _preemptions = r.Counter("vllm:num_preemptions_total", "Cumulative number of preemptions from the engine.", "model_name");
        _prefixQueries = r.Counter("vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", "model_name");
        _prefixHits = r.Counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", "model_name");
        _healthy = r.Gauge("pipeline:engine_healthy", "1 while every replica's device steps make progress; 0 after a step hung until its fresh GPU worker is ready (reason on /health).", "model_name");
        _stepTimeouts = r.Counter("pipeline:step_watchdog_timeouts_total", "Device steps that made no progress within their deadline.", "model_name");
        _workerRestarts = r.Counter("pipeline:gpu_worker_restarts_total", "GPU workers abandoned for a fresh one after a hung step.", "model_name");
        _stageRestarts = r.Counter("pipeline:stage_restarts_total", "Restarts of the pipeline's stage actors after a crash (each pauses longer after crashes in a row).", "model_name", "stage");
        _liveTensors = r.Gauge("pipeline:torch_live_tensors", "TorchSharp tensors created and not yet disposed or finalized (weights and KV cache included).");
        _nativeHeap = r.Gauge("pipeline:native_heap_bytes", "glibc malloc's bytes (libtorch's CPU tensors and other native memory): in_use by live allocations, free but kept by the allocator.", "state");
        double[] latency = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
        double[] tokens = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
        _ttft = r.Hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", latency, "model_name");
        _itl = r.Hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", latency, "model_name");
        _e2e = r.Hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", latency, "model_name");
        _promptHist = r.Hist("vllm:request_prompt_tokens", "Number of prefill tokens processed per request.", tokens, "model_name");
        _genHist = r.Hist("vllm:request_generation_tokens", "Number of generation tokens processed per request.", tokens, "model_name");
    }

    public async Task RefreshAsync(PipelineEngine engine)
    {
        var health = engine.Health;
        _healthy.Set(health.IsHealthy ? 1 : 0, _model);
        _stepTimeouts.Set(health.StepTimeouts, _model);
        _workerRestarts.Set(health.WorkerRestarts, _model);
        foreach (var (stage, restarts) in engine.StageRestarts) _stageRestarts.Set(restarts.Restarts, _model, stage);
        _liveTensors.Set(TorchSharp.torch.Tensor.TotalCount);
        if (Pipeline.Models.Runtime.NativeHeap.Read() is { } heap)
        {
            _nativeHeap.Set(heap.InUse, "in_use");
            _nativeHeap.Set(heap.Free, "free");
        }
        Refresh(await engine.GetStatsAsync());
    }

    /// <summary>Sets the gauges and scheduler counters from the replicas' stats (a front node's are its cluster's workers').</summary>
    public void Refresh(IReadOnlyList<Pipeline.Actors.Stages.ReplicaStats> stats)
    {
        _running.Set(stats.Sum(s => s.Scheduler.NumRunningReqs), _model);
        _waiting.Set(stats.Sum(s => s.Scheduler.NumWaitingReqs + s.PendingAdmissions), _model);
        _kvUsage.Set(stats.Count == 0 ? 0 : stats.Average(s => s.Scheduler.KvCacheUsage), _model);
        _preemptions.Set(stats.Sum(s => s.Scheduler.NumPreemptionsTotal), _model);
        _prefixQueries.Set(stats.Sum(s => s.Scheduler.PrefixCacheQueries), _model);
        _prefixHits.Set(stats.Sum(s => s.Scheduler.PrefixCacheHits), _model);
        if (_maxLoras is int max)
        {
            // vLLM's info gauge: the adapters with running and waiting requests as comma-separated labels, the time as the value.
            static string Names(IEnumerable<IReadOnlyDictionary<string, int>?> d) =>
                string.Join(",", d.SelectMany(x => x?.Keys ?? []).Distinct().Order(StringComparer.Ordinal));
            _loraInfo.Clear();
            _loraInfo.Set(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, max.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Names(stats.Select(s => s.Scheduler.WaitingLoraAdapters)), Names(stats.Select(s => s.Scheduler.RunningLoraAdapters)));
        }
    }

    /// <summary>Records one finished request.</summary>
    public void RequestFinished(int promptTokens, int generationTokens, string finishReason, double e2eSeconds, double? ttftSeconds, IReadOnlyList<double> interTokenSeconds)
    {
        _promptTokens.Inc(promptTokens, _model);
        _generationTokens.Inc(generationTokens, _model);
        _success.Inc(1, _model, finishReason);
        _promptHist.Observe(promptTokens, _model);
        _genHist.Observe(generationTokens, _model);
        _e2e.Observe(e2eSeconds, _model);
        if (ttftSeconds is double t) _ttft.Observe(t, _model);
        foreach (var itl in interTokenSeconds) _itl.Observe(itl, _model);
    }
}

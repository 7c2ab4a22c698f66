using Pipeline.Host.Commands;
using Pipeline.Host.Progress;
using Pipeline.Models.Loading;
using Pipeline.Models.Loading.Hub;

namespace Pipeline.Host.Cli;

/// <summary>
/// Downloading MODEL (and --tokenizer) from the Hugging Face Hub, or ModelScope with VLLM_USE_MODELSCOPE=True, before a
/// command loads it, when it is a hub id that is neither a local directory nor cached at the revision asked for.
/// </summary>
public static class HubCliOptions
{
    public static readonly OptionSpec[] Options =
    [
        new("download-dir", "cache folder for downloaded models (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; MODELSCOPE_CACHE with VLLM_USE_MODELSCOPE)", Metavar: "DIR"),
        new("hf-token", "token for private or gated models (default: $HF_TOKEN, else the huggingface-cli login token file $HF_TOKEN_PATH or $HF_HOME/token; $MODELSCOPE_API_TOKEN with VLLM_USE_MODELSCOPE)", Metavar: "TOKEN"),
    ];

    public static HubOptions ToHubOptions(ParsedArgs a) => HubOptions.FromEnvironment(a.Get("hf-token"), a.Get("download-dir"));

    /// <summary>Downloads the command's model and tokenizer when they need it; a command without these options is left alone.</summary>
    public static void Prepare(CommandSpec spec, ParsedArgs a)
    {
        if (!spec.Options.Any(o => o.Name == "download-dir")) return;
        bool service = spec.Name == "serve";
        var revision = spec.Options.Any(o => o.Name == "revision") ? a.Get("revision") : null;
        var model = DefaultModel.Resolve(a.Positionals);
        Fetch(a, model, revision, service);
        if (spec.Options.Any(o => o.Name == "tokenizer") && a.Get("tokenizer") is string tok) Fetch(a, tok, null, service, requireWeights: false);
    }

    static void Fetch(ParsedArgs a, string model, string? revision, bool service, bool requireWeights = true)
    {
        if (Directory.Exists(model) || File.Exists(model) || !ModelResolver.LooksLikeRepoId(model) || !model.Contains('/')) return;
        var options = ToHubOptions(a);
        using var downloader = new SnapshotDownloader(options);
        if (!requireWeights && !options.UseModelScope)
        {
            // A tokenizer-only id already in the Hugging Face cache needs no request.
            try { ModelResolver.Resolve(model, revision); return; } catch (ModelNotFoundException) { }
        }
        var view = service
            ? ProgressMode.Create(line => Console.Error.WriteLine($"info: {line}"), service: true)
            : LoadProgress.ForCli();
        var dir = Download(downloader, view, model, revision, refresh: false);
        ModelResolver.Register(model, revision, dir);
    }

    /// <summary>Runs one download under a progress view: a bar in a terminal, log lines in a service.</summary>
    public static string Download(SnapshotDownloader downloader, IProgressView view, string model, string? revision, bool refresh)
    {
        if (!refresh && downloader.Cached(model, revision) is string hit) return hit;
        var progress = new DownloadProgress();
        return view.Run($"{model} from {downloader.HubName}", () => State(progress), () => downloader.Download(model, revision, progress, refresh));
    }

    static ProgressState State(DownloadProgress p)
    {
        if (p.FilesTotal == 0) return new ProgressState("listing files", null, "");
        double? fraction = p.BytesTotal > 0 ? Math.Min(1.0, (double)p.BytesDone / p.BytesTotal) : null;
        return new ProgressState("downloading", fraction, $"{Size(p.BytesDone)} of {Size(p.BytesTotal)}, {p.FilesDone}/{p.FilesTotal} files");
    }

    static string Size(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.00} GiB" : $"{bytes / (double)(1L << 20):0.0} MiB";
}

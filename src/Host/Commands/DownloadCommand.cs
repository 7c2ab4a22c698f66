using Pipeline.Host.Cli;
using Pipeline.Host.Progress;
using Pipeline.Models.Loading.Hub;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline download MODEL`: fetches a model's configs, tokenizer files and safetensors from the Hugging Face Hub (or
/// ModelScope with VLLM_USE_MODELSCOPE=True) into the shared cache, and prints the folder. It always asks the hub
/// which commit the revision is now, fetching only files the cache lacks.
/// </summary>
public static class DownloadCommand
{
    public static readonly CommandSpec Spec = new("download", "Download a model from the Hugging Face Hub (or ModelScope) into the cache and print its folder.", ["MODEL"],
    [
        new("revision", "branch, tag or commit to download (default: main; master on ModelScope)"),
        .. HubCliOptions.Options,
    ]);

    public static int Run(ParsedArgs args)
    {
        if (args.Positionals.Count == 0) throw new CliException("download needs a MODEL id, e.g. pipeline download Qwen/Qwen2.5-0.5B-Instruct");
        var model = args.Positionals[0];
        if (!model.Contains('/') || !Pipeline.Models.Loading.ModelResolver.LooksLikeRepoId(model))
            throw new CliException($"'{model}' is not a hub model id: ids are ORG/NAME, as on the model's page");
        var options = HubCliOptions.ToHubOptions(args);
        using var downloader = new SnapshotDownloader(options);
        var dir = HubCliOptions.Download(downloader, LoadProgress.ForCli(), model, args.Get("revision"), refresh: true);
        Console.WriteLine(dir);
        return 0;
    }
}

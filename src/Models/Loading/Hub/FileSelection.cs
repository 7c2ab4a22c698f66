namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// The files of a repository a model needs: configs, tokenizer files and weights, as vLLM's allow patterns pick them.
/// Safetensors win: with any *.safetensors present, *.bin / *.pt / *.pth are left out. Other formats' folders
/// (original/, onnx/, openvino/, gguf files, ...) and repository chrome (README, images, .gitattributes) are left out.
/// </summary>
public static class FileSelection
{
    static readonly string[] Always = [".json", ".safetensors", ".model", ".tiktoken", ".txt", ".jinja"];
    static readonly string[] PickleWeights = [".bin", ".pt", ".pth"];
    static readonly string[] SkippedFolders = ["original/", "onnx/", "openvino/", "coreml/", "flax_model", "tf_model", "runs/", "logs/"];
    static readonly string[] SkippedNames = ["readme.md", "license.txt", "notice.txt", "use_policy.md", ".gitattributes", "training_args.bin",
        "optimizer.pt", "scheduler.pt", "rng_state.pth", "requirements.txt"];

    public static IReadOnlyList<RemoteFile> Select(IReadOnlyList<RemoteFile> files)
    {
        var candidates = files.Where(f => !Skipped(f.Path)).ToList();
        var safetensors = candidates.Where(f => f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)).ToList();
        // Mistral's consolidated checkpoint beside the transformers shards is the same weights a second time.
        bool shards = safetensors.Any(f => !IsConsolidated(f.Path));
        return candidates.Where(f =>
        {
            var ext = Path.GetExtension(f.Path).ToLowerInvariant();
            if (ext == ".safetensors") return !(shards && IsConsolidated(f.Path));
            if (PickleWeights.Contains(ext)) return safetensors.Count == 0;
            return Always.Contains(ext);
        }).ToList();
    }

    static bool IsConsolidated(string path) => Path.GetFileName(path).StartsWith("consolidated", StringComparison.OrdinalIgnoreCase);

    static bool Skipped(string path)
    {
        var p = path.Replace('\\', '/').ToLowerInvariant();
        if (SkippedFolders.Any(p.StartsWith)) return true;
        if (SkippedNames.Contains(Path.GetFileName(p))) return true;
        return p.Split('/').Any(part => part.StartsWith('.'));
    }
}

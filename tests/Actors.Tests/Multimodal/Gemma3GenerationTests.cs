namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random Gemma 3 (scripts/fixtures/vlm_families/gemma.py) through the whole engine: the rendered chat plus the
/// image files, expanded by the preprocessing code, the image rows put in place of the soft tokens, and the soft tokens
/// of each image attending to each other bidirectionally. With a 6-token step budget the prefill chunks end at the
/// images' boundaries instead of inside them; gemma3-pas has pan-and-scan on (each image and its 2 crops, separated by
/// text, each with its own bidirectional block). Greedy tokens and top-5 logprobs are compared with transformers by
/// vLLM's rule.
/// </summary>
public class Gemma3GenerationTests
{
    [Theory]
    [InlineData("gemma3", 64)]
    [InlineData("gemma3", 6)]
    [InlineData("gemma3-pas", 8)]
    public void One_and_two_image_chats_match_transformers(string fixture, int budget)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", fixture);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
        using var pas = fixture == "gemma3-pas" ? PanAndScanCopy(dir) : null;
        if (pas != null) dir = pas.Path;
        VisionFixtureRun.AssertMatchesTransformers(dir, fixture, budget);
    }

    /// <summary>A copy of the fixture whose processor config turns pan-and-scan on, as transformers' call did (do_pan_and_scan, 16-pixel crops).</summary>
    static TempDir PanAndScanCopy(string dir)
    {
        var copy = new TempDir();
        foreach (var f in Directory.GetFiles(dir)) File.Copy(f, System.IO.Path.Combine(copy.Path, System.IO.Path.GetFileName(f)));
        Directory.CreateDirectory(System.IO.Path.Combine(copy.Path, "images"));
        foreach (var f in Directory.GetFiles(System.IO.Path.Combine(dir, "images"))) File.Copy(f, System.IO.Path.Combine(copy.Path, "images", System.IO.Path.GetFileName(f)));
        var path = System.IO.Path.Combine(copy.Path, "processor_config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        config["image_processor"]!["do_pan_and_scan"] = true;
        config["image_processor"]!["pan_and_scan_min_crop_size"] = 16;
        File.WriteAllText(path, config.ToJsonString());
        return copy;
    }

    sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("gemma3-pas-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}

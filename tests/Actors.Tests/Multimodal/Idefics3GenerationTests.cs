namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random Idefics3 and SmolVLM (scripts/fixtures/vlm_families/idefics3.py) through the whole engine: the
/// prompt as the chat template rendered it plus the image files, expanded with tile markers, newlines and image tokens,
/// the tiles' features put in place of the image tokens only; with a step budget of 5 the prefill chunks end inside
/// images, between and among the tile markers (whole prefills run over HTTP in VisionChatServerTests). Greedy tokens
/// and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class Idefics3GenerationTests
{
    [Theory]
    [InlineData("idefics3", 5)]
    [InlineData("smolvlm", 5)]
    public void One_and_two_image_chats_match_transformers(string model, int budget)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
        VisionFixtureRun.AssertMatchesTransformers(dir, model, budget);
    }
}

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random LLaVA-1.5 and LLaVA-NeXT (and Fuyu, BLIP-2, whose prompt is the bare question) (scripts/fixtures/make_vlm_fixtures.py) through the whole engine: the prompt as the chat
/// template rendered it plus the image files, expanded by the preprocessing code, the image features put in place of
/// the placeholders by the runner, with a step budget small enough that prefill chunks cut through the image tokens.
/// Greedy tokens and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class LlavaGenerationTests
{
    [Theory]
    [InlineData("llava-1.5", 64)]
    [InlineData("llava-1.5", 5)]
    [InlineData("llava-next", 128)]
    [InlineData("llava-next", 7)]
    [InlineData("llava-onevision", 7)]
    [InlineData("aya-vision", 7)]
    [InlineData("fuyu", 7)]
    [InlineData("blip2", 4)]
    public void One_and_two_image_chats_match_transformers(string fixture, int budget)
    {
        var Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", fixture);
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        VisionFixtureRun.AssertMatchesTransformers(Dir, fixture, budget);
    }
}

using System.Net;
using Pipeline.Actors.Multimodal;
using Pipeline.Models.Multimodal;

namespace Pipeline.Actors.Tests.Multimodal;

public class MediaConnectorTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("media-").FullName;
    readonly string _outside = Directory.CreateTempSubdirectory("media-out-").FullName;

    public void Dispose()
    {
        Directory.Delete(_root, true);
        Directory.Delete(_outside, true);
    }

    static async Task<string> Refusal(Func<Task> f) => (await Assert.ThrowsAsync<MediaException>(f)).Message;

    [Fact]
    public async Task Data_urls_decode_base64_and_refuse_what_is_not()
    {
        var png = TestImages.Png();
        var media = new MediaConnector(new MediaOptions());
        Assert.Equal(png, await media.FetchAsync(TestImages.DataUrl(png)));
        Assert.Contains("not valid base64", await Refusal(() => media.FetchAsync("data:image/png;base64,@@@not-base64@@@")));
        Assert.Contains("must be base64 encoded", await Refusal(() => media.FetchAsync("data:image/png,rawdata")));
        Assert.Contains("media type 'text/plain'", await Refusal(() => media.FetchAsync("data:text/plain;base64,aGVsbG8=")));
        Assert.Contains("has no ','", await Refusal(() => media.FetchAsync("data:image/png;base64")));
        var small = new MediaConnector(new MediaOptions { MaxImageBytes = 10 });
        Assert.Contains("too large", await Refusal(() => small.FetchAsync(TestImages.DataUrl(png))));
    }

    [Fact]
    public async Task Local_files_only_under_the_allowed_folder()
    {
        var png = TestImages.Png();
        var inside = Path.Combine(_root, "a.png");
        var outside = Path.Combine(_outside, "b.png");
        File.WriteAllBytes(inside, png);
        File.WriteAllBytes(outside, png);
        Assert.Contains("--allowed-local-media-path", await Refusal(() => new MediaConnector(new MediaOptions()).FetchAsync(new Uri(inside).AbsoluteUri)));
        var media = new MediaConnector(new MediaOptions { AllowedLocalMediaPath = _root });
        Assert.Equal(png, await media.FetchAsync(new Uri(inside).AbsoluteUri));
        Assert.Contains("outside the allowed local media folder", await Refusal(() => media.FetchAsync(new Uri(outside).AbsoluteUri)));
        Assert.Contains("outside the allowed local media folder", await Refusal(() => media.FetchAsync("file://" + _root + "/../" + Path.GetFileName(_outside) + "/b.png")));
        var link = Path.Combine(_root, "link.png");
        File.CreateSymbolicLink(link, outside);
        Assert.Contains("outside the allowed local media folder", await Refusal(() => media.FetchAsync(new Uri(link).AbsoluteUri)));
        Assert.Contains("does not exist", await Refusal(() => media.FetchAsync(new Uri(Path.Combine(_root, "none.png")).AbsoluteUri)));
    }

    sealed class Handler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        public int Calls;
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            return answer(request, ct);
        }
    }

    static HttpResponseMessage Ok(byte[] body) => new(HttpStatusCode.OK) { Content = new ByteArrayContent(body) };

    [Fact]
    public async Task Urls_are_off_unless_their_domain_is_allowed()
    {
        var png = TestImages.Png();
        var handler = new Handler((_, _) => Task.FromResult(Ok(png)));
        var off = new MediaConnector(new MediaOptions(), new HttpClient(handler));
        Assert.Contains("--allowed-media-domains", await Refusal(() => off.FetchAsync("http://images.example/a.png")));
        var on = new MediaConnector(new MediaOptions { AllowedMediaDomains = ["images.example"] }, new HttpClient(handler));
        Assert.Equal(png, await on.FetchAsync("https://images.example/a.png"));
        Assert.Contains("domain 'evil.example' is not allowed", await Refusal(() => on.FetchAsync("https://evil.example/a.png")));
        Assert.Equal(1, handler.Calls);
        Assert.Contains("scheme 'ftp' is not supported", await Refusal(() => on.FetchAsync("ftp://images.example/a.png")));
    }

    [Fact]
    public async Task Redirects_are_checked_and_errors_named()
    {
        var handler = new Handler((r, _) => Task.FromResult(r.RequestUri!.AbsolutePath switch
        {
            "/moved" => new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = new Uri("https://evil.example/x.png") } },
            "/big" => Ok(new byte[5000]),
            _ => new HttpResponseMessage(HttpStatusCode.NotFound),
        }));
        var media = new MediaConnector(new MediaOptions { AllowedMediaDomains = ["images.example"], MaxImageBytes = 1000 }, new HttpClient(handler));
        Assert.Contains("domain 'evil.example' is not allowed", await Refusal(() => media.FetchAsync("https://images.example/moved")));
        Assert.Contains("answered 404", await Refusal(() => media.FetchAsync("https://images.example/missing")));
        Assert.Contains("too large", await Refusal(() => media.FetchAsync("https://images.example/big")));
    }

    [Fact]
    public async Task A_slow_url_times_out_without_holding_up_others()
    {
        var png = TestImages.Png();
        var handler = new Handler(async (r, ct) =>
        {
            if (r.RequestUri!.AbsolutePath == "/slow") await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return Ok(png);
        });
        var media = new MediaConnector(new MediaOptions { AllowedMediaDomains = ["*"], FetchTimeout = TimeSpan.FromMilliseconds(300) }, new HttpClient(handler));
        var slow = media.FetchAsync("http://a.example/slow");
        var fast = await media.FetchAsync("http://a.example/fast").WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(png, fast);
        Assert.False(slow.IsCompleted);
        Assert.Contains("timed out after 0.3 s", await Refusal(() => slow));
    }
}

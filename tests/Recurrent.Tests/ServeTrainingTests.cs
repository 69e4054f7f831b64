using System.Net;
using System.Text.Json;
using Recurrent.Cli.Serve;
using Recurrent.Training;
using Xunit;

namespace Recurrent.Tests;

/// <summary>
/// GET /api/models/{name}/log?after=STEP and the /training page: a copy of the fixture's char-lm whose log.jsonl the
/// tests append to while the server runs, as a training run would. With RECURRENT_SCREENSHOTS=DIR set, the page is
/// saved there as serve-training.png.
/// </summary>
[Collection(ServeCollection.Name)]
public class ServeTrainingTests(ServeFixture f)
{
    private static HttpClient Http => ServeHttp.Client;

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    /// <summary>A models directory with a copy of the fixture's char-lm as "run" (and "run/best"), and "nolog" without a log.</summary>
    private string Models(string root)
    {
        string models = Path.Combine(root, "runs");
        CopyDirectory(f.Lm, Path.Combine(models, "run"));
        CopyDirectory(f.Lm, Path.Combine(models, "nolog"));
        File.Delete(Path.Combine(models, "nolog", "log.jsonl"));
        foreach (string best in Directory.GetFiles(Path.Combine(models, "nolog", "best"), "log.jsonl")) File.Delete(best);
        return models;
    }

    private static TrainLogEntry Entry(long step, double loss, double? val = null) =>
        new(step, step / 100.0, loss, val, 1000, step * 0.1, 0.002f, 1.5f);

    private static Task<(HttpStatusCode Status, JsonElement Body)> Get(ServeHost server, string path) => ServeHttp.Get(server, path);
    private static long[] Steps(JsonElement body) => body.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("step").GetInt64()).ToArray();

    [Fact]
    public async Task Serve_LogGivesTheLinesAfterAStep_AsTheLogGrows_AndSkipsATornLastLine()
    {
        string root = Directory.CreateTempSubdirectory("servelog").FullName;
        try
        {
            string models = Models(root), log = Path.Combine(models, "run", "log.jsonl");
            await using var server = await ServeHost.StartAsync(new ServeOptions(models, "127.0.0.1", 0, 2, 8));
            var expected = TrainLog.Read(log);
            Assert.NotEmpty(expected);

            // Every line, as TrainLog reads them.
            var (status, all) = await Get(server, "api/models/run/log");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(expected.Select(e => e.Step), Steps(all));
            Assert.Equal(expected[^1].Step, all.GetProperty("last_step").GetInt64());
            var lines = all.GetProperty("entries").EnumerateArray().ToList();
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].TrainLoss, lines[i].GetProperty("train_loss").GetDouble(), 12);
                Assert.Equal(expected[i].Seconds, lines[i].GetProperty("seconds").GetDouble(), 12);
                if (expected[i].ValLoss is { } v) Assert.Equal(v, lines[i].GetProperty("val_loss").GetDouble(), 12);
                else Assert.Equal(JsonValueKind.Null, lines[i].GetProperty("val_loss").ValueKind);
            }
            // best/ follows its run's log.
            Assert.Equal(expected.Select(e => e.Step), Steps((await Get(server, "api/models/run/best/log")).Body));

            // Lines appended while the server runs; after= gives only the newer ones; a torn last line waits until complete.
            long last = expected[^1].Step;
            File.AppendAllText(log, TrainLog.Format(Entry(last + 10, 2.5)) + "\n" + TrainLog.Format(Entry(last + 20, 2.4, 2.45)) + "\n");
            string torn = TrainLog.Format(Entry(last + 30, 2.3));
            File.AppendAllText(log, torn[..(torn.Length / 2)]);
            var (_, newer) = await Get(server, $"api/models/run/log?after={last}");
            Assert.Equal([last + 10, last + 20], Steps(newer));
            Assert.Equal(last + 20, newer.GetProperty("last_step").GetInt64());
            Assert.Equal(2.45, newer.GetProperty("entries")[1].GetProperty("val_loss").GetDouble(), 12);
            Assert.Equal(JsonValueKind.Null, newer.GetProperty("entries")[0].GetProperty("val_loss").ValueKind);

            File.AppendAllText(log, torn[(torn.Length / 2)..] + "\n");
            var (_, completed) = await Get(server, $"api/models/run/log?after={last + 20}");
            Assert.Equal([last + 30], Steps(completed));
            var (_, none) = await Get(server, $"api/models/run/log?after={last + 30}");
            Assert.Empty(Steps(none));
            Assert.Equal(last + 30, none.GetProperty("last_step").GetInt64());

            // No log: no entries. A non-integer after: 400 naming it. An unknown model: 404.
            var (noLogStatus, noLog) = await Get(server, "api/models/nolog/log");
            Assert.Equal(HttpStatusCode.OK, noLogStatus);
            Assert.Empty(Steps(noLog));
            Assert.Equal(JsonValueKind.Null, noLog.GetProperty("last_step").ValueKind);
            foreach (string bad in new[] { "abc", "1.5", "" })
            {
                var (badStatus, error) = await Get(server, $"api/models/run/log?after={bad}");
                Assert.Equal(HttpStatusCode.BadRequest, badStatus);
                Assert.Equal("after", error.GetProperty("field").GetString());
                Assert.Contains("\"after\"", error.GetProperty("error").GetString());
            }
            Assert.Equal(HttpStatusCode.NotFound, (await Get(server, "api/models/nothing/log")).Status);
            // The model itself is still described.
            Assert.Equal("run", (await Get(server, "api/models/run")).Body.GetProperty("name").GetString());
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [ChromiumFact]
    public async Task Serve_InChromiumTheTrainingPageDrawsTheCurves_AndFollowsTheLog()
    {
        string root = Directory.CreateTempSubdirectory("servetraining").FullName;
        try
        {
            string models = Models(root), log = Path.Combine(models, "run", "log.jsonl");
            var expected = TrainLog.Read(log);
            await using var server = await ServeHost.StartAsync(new ServeOptions(models, "127.0.0.1", 0, 2, 8));
            await using var browser = await HeadlessChromium.LaunchAsync();
            string? shots = Environment.GetEnvironmentVariable("RECURRENT_SCREENSHOTS");

            // Every row of the index has a training link; the run's opens its page.
            await browser.Navigate(server.Url);
            await browser.WaitFor("document.querySelectorAll('#models tbody tr').length === 4", "the index's four rows");
            Assert.Equal(4, (await browser.Evaluate("[...document.querySelectorAll('#models tbody tr')].filter(r => r.cells[6].textContent === 'training').length")).GetInt32());
            await browser.Click("tr[data-model='run'] td:last-child a");
            await browser.WaitFor($"location.pathname === '/training' && document.getElementById('last-step')?.dataset.step === '{expected[^1].Step}'",
                "the training page's curve");
            Assert.Equal("Training: run", (await browser.Evaluate("document.getElementById('title').textContent")).GetString());
            var drawn = await browser.Evaluate("""
                [Number(document.getElementById('train').dataset.count), document.getElementById('train').getAttribute('points').split(' ').length,
                 document.querySelectorAll('#val circle').length, Number(document.getElementById('best-val').dataset.value)]
                """);
            Assert.Equal(expected.Count, drawn[0].GetInt32());
            Assert.Equal(expected.Count, drawn[1].GetInt32());
            Assert.Equal(expected.Count(e => e.ValLoss != null), drawn[2].GetInt32());
            Assert.Equal(expected.Where(e => e.ValLoss != null).Min(e => e.ValLoss!.Value), drawn[3].GetDouble(), 9);

            // The run logs on: the page shows the new last step within a few seconds, and a lower validation loss as the best.
            long last = expected[^1].Step;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            File.AppendAllText(log, TrainLog.Format(Entry(last + 10, 2.0)) + "\n" + TrainLog.Format(Entry(last + 20, 1.9, 0.5)) + "\n");
            await browser.WaitFor($"document.getElementById('last-step').dataset.step === '{last + 20}'", "the new last step", seconds: 10);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
            var grown = await browser.Evaluate("""
                [Number(document.getElementById('train').dataset.count), document.querySelectorAll('#val circle').length,
                 document.getElementById('best-val').textContent, document.getElementById('last-step').textContent]
                """);
            Assert.Equal(expected.Count + 2, grown[0].GetInt32());
            Assert.Equal(expected.Count(e => e.ValLoss != null) + 1, grown[1].GetInt32());
            Assert.Equal("0.5000", grown[2].GetString());
            Assert.Equal((last + 20).ToString("N0", System.Globalization.CultureInfo.InvariantCulture), grown[3].GetString());
            if (shots != null) await File.WriteAllBytesAsync(Path.Combine(shots, "serve-training.png"), await browser.Screenshot());
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}

//! Renders previews of the asset made from an image, to look at the engine's output:
//! `preview IMAGE OUT_PREFIX` writes `OUT_PREFIX-front.png`, `-three-quarter.png` and `-back.png`.

use threedgpt_engine::preview::{View, render};
use threedgpt_engine::{CancelFlag, NoProgress, Options, generate};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, prefix] = args.as_slice() else {
        anyhow::bail!("usage: preview IMAGE OUT_PREFIX");
    };
    let asset = generate(image, &std::fs::read(image)?, &Options::default(), &NoProgress, &CancelFlag::new())?;
    for (name, view) in [("front", View::FRONT), ("three-quarter", View::THREE_QUARTER), ("back", View::BACK)] {
        render(&asset, 512, view).save(format!("{prefix}-{name}.png"))?;
    }
    Ok(())
}

//! Rebuilds the desk when the console it embeds (`console/dist`) changes.
fn main() {
    println!("cargo:rerun-if-changed=../../console/dist");
}
